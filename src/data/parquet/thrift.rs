//! Just enough of Thrift's compact protocol to find fields in Parquet's file metadata and
//! skip over values.

use std::ops::Range;

use anyhow::{bail, Context, Result};

/// The compact protocol's type of a struct.
pub(super) const STRUCT: u8 = 12;

/// The compact protocol's types of an i64 and a list.
pub(super) const I64: u8 = 6;
pub(super) const LIST: u8 = 9;

/// A field of a struct: its id and type, and where its header and value are.
pub(super) struct Field {
    pub id: i16,
    pub kind: u8,
    pub header: Range<usize>,
    pub value: Range<usize>,
}

/// The fields of `thrift` (a struct).
pub(super) fn fields(thrift: &[u8]) -> Result<Vec<Field>> {
    let mut r = Reader {
        bytes: thrift,
        at: 0,
    };
    let mut last = 0;
    let mut fields = Vec::new();
    loop {
        let start = r.at;
        let Some((id, kind)) = r.field_header(&mut last)? else {
            return Ok(fields);
        };
        let value = r.at;
        r.skip(kind)?;
        fields.push(Field {
            id,
            kind,
            header: start..value,
            value: value..r.at,
        });
    }
}

/// Where each row group (the elements of field 4, a list) is in `thrift` (a
/// `FileMetaData`).
pub(super) fn row_groups(thrift: &[u8]) -> Result<Vec<Range<usize>>> {
    let list = fields(thrift)?
        .into_iter()
        .find(|f| f.id == 4 && f.kind == LIST)
        .context("no row groups in the file metadata")?;
    let mut r = Reader {
        bytes: &thrift[..list.value.end],
        at: list.value.start,
    };
    let (n, element) = r.list_header()?;
    if n > 0 && element != STRUCT {
        bail!("the file metadata's row groups are not structs");
    }
    let mut elements = Vec::with_capacity(n);
    for _ in 0..n {
        let at = r.at;
        r.skip(STRUCT)?;
        elements.push(at..r.at);
    }
    Ok(elements)
}

/// Appends an i64 as the compact protocol writes it.
pub(super) fn zigzag_varint(out: &mut Vec<u8>, value: i64) {
    varint(out, ((value << 1) ^ (value >> 63)) as u64);
}

fn varint(out: &mut Vec<u8>, mut n: u64) {
    while n >= 0x80 {
        out.push(n as u8 | 0x80);
        n >>= 7;
    }
    out.push(n as u8);
}

/// Appends a list header: `n` elements of type `element`.
pub(super) fn list_header(out: &mut Vec<u8>, n: usize, element: u8) {
    if n < 15 {
        out.push((n as u8) << 4 | element);
    } else {
        out.push(0xf0 | element);
        varint(out, n as u64);
    }
}

struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl Reader<'_> {
    fn byte(&mut self) -> Result<u8> {
        let b = *self.bytes.get(self.at).context("truncated Thrift")?;
        self.at += 1;
        Ok(b)
    }

    fn advance(&mut self, n: usize) -> Result<()> {
        self.at = self.at.checked_add(n).context("truncated Thrift")?;
        if self.at > self.bytes.len() {
            bail!("truncated Thrift");
        }
        Ok(())
    }

    fn varint(&mut self) -> Result<u64> {
        let mut value = 0u64;
        for shift in (0..64).step_by(7) {
            let b = self.byte()?;
            value |= u64::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                return Ok(value);
            }
        }
        bail!("overlong Thrift varint")
    }

    /// A field's id and type, or None at the end of the struct.
    fn field_header(&mut self, last: &mut i16) -> Result<Option<(i16, u8)>> {
        let b = self.byte()?;
        if b == 0 {
            return Ok(None);
        }
        let delta = i16::from(b >> 4);
        *last = if delta == 0 {
            let v = self.varint()?;
            i16::try_from((v >> 1) as i64 ^ -((v & 1) as i64))?
        } else {
            *last + delta
        };
        Ok(Some((*last, b & 0x0f)))
    }

    fn list_header(&mut self) -> Result<(usize, u8)> {
        let b = self.byte()?;
        let n = match b >> 4 {
            15 => usize::try_from(self.varint()?)?,
            n => usize::from(n),
        };
        Ok((n, b & 0x0f))
    }

    /// Skips a field's value of type `kind` (a boolean's is in its header).
    fn skip(&mut self, kind: u8) -> Result<()> {
        self.skip_value(kind, false)
    }

    fn skip_value(&mut self, kind: u8, element: bool) -> Result<()> {
        match kind {
            1 | 2 => {
                if element {
                    self.advance(1)?;
                }
            }
            3 => self.advance(1)?,
            4..=6 => {
                self.varint()?;
            }
            7 => self.advance(8)?,
            8 => {
                let n = usize::try_from(self.varint()?)?;
                self.advance(n)?;
            }
            9 | 10 => {
                let (n, element) = self.list_header()?;
                for _ in 0..n {
                    self.skip_value(element, true)?;
                }
            }
            11 => {
                let n = self.varint()?;
                if n > 0 {
                    let kinds = self.byte()?;
                    for _ in 0..n {
                        self.skip_value(kinds >> 4, true)?;
                        self.skip_value(kinds & 0x0f, true)?;
                    }
                }
            }
            STRUCT => {
                let mut last = 0;
                while let Some((_, kind)) = self.field_header(&mut last)? {
                    self.skip(kind)?;
                }
            }
            other => bail!("unknown Thrift type {other}"),
        }
        Ok(())
    }
}
