"""Reference values for src/augment/pitch_shift.rs (test `matches_librosa_reference`): librosa
0.11's time_stretch and pitch_shift (res_type="fft") on a deterministic test signal, printed as
Rust constants, plus scipy.signal.resample known answers (src/augment/resample.rs). Versions:
tools/reference/requirements.txt.

    /tmp/refvenv/bin/python tools/reference/librosa_augment_reference.py
"""
import numpy as np, scipy.signal, librosa, math
x = np.array([1.,2.,3.,4.,5.])
for n in (3,8,2):
    print(n, [repr(float(v)) for v in scipy.signal.resample(x, n)])
def rich(n, sr):
    state = 12345; M = (1<<64)-1; out = []
    for i in range(n):
        t = i/sr
        state = (state*6364136223846793005 + 1442695040888963407) & M
        noise = ((state >> 11) / float(1<<53)) - 0.5
        out.append(0.3*math.sin(2*math.pi*(150.0*t + 400.0*t*t)) + 0.2*math.sin(2*math.pi*1234.5*t) + 0.05*noise)
    return np.array(out, dtype=np.float32)
y = rich(6000, 16000.0)
y64 = y.astype(np.float64)
ts = librosa.effects.time_stretch(y64, rate=1.25)
ps = librosa.effects.pitch_shift(y64, sr=16000, n_steps=3, res_type="fft")
for name, z in (("TS", ts), ("PS", ps)):
    print(f"const REF_{name}_LEN: usize = {len(z)};")
    print(f"const REF_{name}: &[f64] = &[" + ", ".join(repr(float(v)) for v in z[::500]) + "];")
    print(f"const REF_{name}_ENERGY: f64 = {float(np.sum(z.astype(np.float64)**2))!r};")
