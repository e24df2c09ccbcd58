//! The Zenodo record: which files it lists, their sizes, md5 checksums and links.

use super::DownloadError;

/// One file of the record, as far as a download needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordFile {
    pub key: String,
    pub size: u64,
    /// Lower-case hex.
    pub md5: String,
    pub url: String,
}

/// A Zenodo record's JSON, read tolerantly: `files` is a list (or `{"entries": [...]}`); a file
/// is named by `key` (or `filename`), sized by `size` (or `filesize`), checked by `checksum`
/// (`"md5:<hex>"` or bare hex) and fetched from `links.content`, `links.download` or
/// `links.self`, the first present.
#[derive(Debug, Clone)]
pub struct Record {
    url: String,
    files: Vec<serde_json::Value>,
}

impl Record {
    pub fn parse(text: &str, url: &str) -> Result<Record, DownloadError> {
        let bad = |message: String| DownloadError::BadRecord {
            url: url.to_string(),
            message,
        };
        let json: serde_json::Value =
            serde_json::from_str(text).map_err(|e| bad(format!("invalid JSON: {e}")))?;
        let files = match json.get("files") {
            Some(serde_json::Value::Array(files)) => files.clone(),
            Some(serde_json::Value::Object(o)) => match o.get("entries") {
                Some(serde_json::Value::Array(files)) => files.clone(),
                _ => return Err(bad("`files` has no `entries` list".into())),
            },
            _ => return Err(bad("no `files` list".into())),
        };
        Ok(Record {
            url: url.to_string(),
            files,
        })
    }

    fn key_of(file: &serde_json::Value) -> Option<&str> {
        file.get("key")
            .or_else(|| file.get("filename"))
            .and_then(|k| k.as_str())
    }

    /// The file named `key`, with everything a download needs.
    pub fn file(&self, key: &str) -> Result<RecordFile, DownloadError> {
        let Some(file) = self.files.iter().find(|f| Record::key_of(f) == Some(key)) else {
            let listed: Vec<&str> = self.files.iter().filter_map(Record::key_of).collect();
            return Err(DownloadError::MissingFile {
                url: self.url.clone(),
                key: key.to_string(),
                listed: if listed.is_empty() {
                    "nothing".into()
                } else {
                    listed.join(", ")
                },
            });
        };
        let missing = |field| DownloadError::MissingField {
            url: self.url.clone(),
            key: key.to_string(),
            field,
        };
        let size = file
            .get("size")
            .or_else(|| file.get("filesize"))
            .and_then(|s| s.as_u64())
            .ok_or_else(|| missing("size"))?;
        let checksum = file
            .get("checksum")
            .and_then(|c| c.as_str())
            .ok_or_else(|| missing("checksum"))?;
        let md5 = parse_md5(checksum).ok_or_else(|| DownloadError::UnsupportedChecksum {
            url: self.url.clone(),
            key: key.to_string(),
            checksum: checksum.to_string(),
        })?;
        let links = file.get("links");
        let url = ["content", "download", "self"]
            .iter()
            .find_map(|name| links?.get(name)?.as_str())
            .ok_or_else(|| {
                missing("download link (links.content, links.download or links.self)")
            })?;
        Ok(RecordFile {
            key: key.to_string(),
            size,
            md5,
            url: url.to_string(),
        })
    }
}

/// `"md5:<32 hex>"` or a bare 32-digit hex string, as lower-case hex.
fn parse_md5(checksum: &str) -> Option<String> {
    let hex = match checksum.split_once(':') {
        Some((algo, hex)) if algo.eq_ignore_ascii_case("md5") => hex,
        Some(_) => return None,
        None => checksum,
    };
    (hex.len() == 32 && hex.bytes().all(|b| b.is_ascii_hexdigit())).then(|| hex.to_lowercase())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::download::Archive;

    const RECORD: &str = r#"{
        "id": 1188976,
        "files": [
            {"key": "Audio_Song_Actors_01-24.zip", "size": 10, "checksum": "md5:0123456789ABCDEF0123456789abcdef",
             "links": {"self": "https://example.org/song/content"}},
            {"key": "Audio_Speech_Actors_01-24.zip", "size": 20, "checksum": "md5:00112233445566778899aabbccddeeff",
             "links": {"self": "https://example.org/api", "download": "https://example.org/speech"}},
            {"key": "Video_Speech_Actor_01.zip", "size": 30, "checksum": "sha256:00",
             "links": {"self": "https://example.org/video"}}
        ]
    }"#;

    #[test]
    fn record_files_found_by_key_with_the_best_link() {
        let record = Record::parse(RECORD, "rec").unwrap();
        let speech = record.file(Archive::Speech.key()).unwrap();
        assert_eq!(speech.size, 20);
        assert_eq!(speech.md5, "00112233445566778899aabbccddeeff");
        assert_eq!(speech.url, "https://example.org/speech");
        let song = record.file(Archive::Song.key()).unwrap();
        assert_eq!(song.md5, "0123456789abcdef0123456789abcdef");
        assert_eq!(song.url, "https://example.org/song/content");
    }

    #[test]
    fn legacy_record_shape_is_read() {
        let legacy = r#"{"files": {"entries": [{"filename": "a.zip", "filesize": 5,
            "checksum": "d41d8cd98f00b204e9800998ecf8427e", "links": {"download": "http://x/a"}}]}}"#;
        let file = Record::parse(legacy, "rec").unwrap().file("a.zip").unwrap();
        assert_eq!(file.size, 5);
        assert_eq!(file.md5, "d41d8cd98f00b204e9800998ecf8427e");
        assert_eq!(file.url, "http://x/a");
    }

    #[test]
    fn record_problems_are_named() {
        let record = Record::parse(RECORD, "rec").unwrap();
        let err = record.file("nope.zip").unwrap_err().to_string();
        assert!(err.contains("nope.zip") && err.contains("Audio_Speech_Actors_01-24.zip"));
        let err = record
            .file("Video_Speech_Actor_01.zip")
            .unwrap_err()
            .to_string();
        assert!(err.contains("only md5"), "{err}");
        let no_link = r#"{"files": [{"key": "a.zip", "size": 1, "checksum": "md5:d41d8cd98f00b204e9800998ecf8427e"}]}"#;
        let err = Record::parse(no_link, "rec")
            .unwrap()
            .file("a.zip")
            .unwrap_err()
            .to_string();
        assert!(err.contains("download link"), "{err}");
        assert!(Record::parse("{}", "rec").is_err());
        assert!(Record::parse("<html>", "rec").is_err());
    }
}
