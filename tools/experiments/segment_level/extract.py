"""Extract per-FRAME features once for all 1200 RAVDESS speech files and cache to frames.npz.

Two frame-feature families (pooling into utterance/segment stats is done later in run.py):
  base (native 48 kHz, n_fft=2048, hop=512 -> 10.67 ms hop):
      MFCC40 | chroma_stft12 | log-mel128  -> 180 dims/frame
  rich (resampled to 22.05 kHz, n_fft=2048, hop=512 -> 23.2 ms hop):
      MFCC40 + delta + delta2 (120) | chroma12 | log-mel128 | rms | zcr |
      spectral contrast (7) | centroid | bandwidth | rolloff | flatness -> 273 dims/frame
Also stores the librosa.effects.trim(top_db=40) interval per file (in frames of each family).
"""
import os
OUT = os.environ.get('SEGEXP_DIR', '/tmp/segexp')  # cache and results folder
import glob, sys, time
import numpy as np, soundfile as sf, librosa

ROOT = os.environ.get('RAVDESS_DIR', 'data/ravdess')
files = sorted(glob.glob(f'{ROOT}/Actor_*/03-01-*.wav'))
assert len(files) == 1200, len(files)

def base_frames(y, sr):
    S = np.abs(librosa.stft(y, n_fft=2048, hop_length=512)) ** 2
    mel = librosa.feature.melspectrogram(S=S, sr=sr, n_mels=128)
    logmel = librosa.power_to_db(mel)
    mfcc = librosa.feature.mfcc(S=logmel, n_mfcc=40)
    chroma = librosa.feature.chroma_stft(S=S, sr=sr)
    return np.vstack([mfcc, chroma, logmel]).T.astype(np.float32)

def rich_frames(y, sr):
    Smag = np.abs(librosa.stft(y, n_fft=2048, hop_length=512))
    S = Smag ** 2
    mel = librosa.feature.melspectrogram(S=S, sr=sr, n_mels=128)
    logmel = librosa.power_to_db(mel)
    mfcc = librosa.feature.mfcc(S=logmel, n_mfcc=40)
    d1 = librosa.feature.delta(mfcc, width=9)
    d2 = librosa.feature.delta(mfcc, order=2, width=9)
    chroma = librosa.feature.chroma_stft(S=S, sr=sr)
    rms = librosa.feature.rms(S=Smag, frame_length=2048)
    zcr = librosa.feature.zero_crossing_rate(y, frame_length=2048, hop_length=512)
    contrast = librosa.feature.spectral_contrast(S=Smag, sr=sr)
    cent = librosa.feature.spectral_centroid(S=Smag, sr=sr)
    bw = librosa.feature.spectral_bandwidth(S=Smag, sr=sr)
    roll = librosa.feature.spectral_rolloff(S=Smag, sr=sr)
    flat = librosa.feature.spectral_flatness(S=Smag)
    n = mfcc.shape[1]
    feats = [mfcc, d1, d2, chroma, logmel, rms, zcr[:, :n], contrast, cent, bw, roll, flat]
    return np.vstack([f[:, :n] for f in feats]).T.astype(np.float32)

base, rich, boff, roff, btrim, rtrim, emo, actor, dur = [], [], [0], [0], [], [], [], [], []
t0 = time.time()
for i, f in enumerate(files):
    parts = os.path.basename(f)[:-4].split('-')
    emo.append(int(parts[2]) - 1); actor.append(int(parts[6]))
    y, sr = sf.read(f, dtype='float32')
    if y.ndim > 1: y = y.mean(1)
    assert sr == 48000
    dur.append(len(y) / sr)
    _, (s, e) = librosa.effects.trim(y, top_db=40)
    fb = base_frames(y, sr)
    y22 = librosa.resample(y, orig_sr=sr, target_sr=22050)
    fr = rich_frames(y22, 22050)
    base.append(fb); rich.append(fr)
    boff.append(boff[-1] + len(fb)); roff.append(roff[-1] + len(fr))
    btrim.append((s // 512, min(len(fb), e // 512 + 1)))
    r = 22050 / 48000
    rtrim.append((int(s * r) // 512, min(len(fr), int(e * r) // 512 + 1)))
    if i % 100 == 0:
        print(i, f'{time.time()-t0:.0f}s', fb.shape, fr.shape, btrim[-1], rtrim[-1], flush=True)

np.savez(OUT + '/frames.npz', base=np.concatenate(base), rich=np.concatenate(rich),
         boff=np.array(boff), roff=np.array(roff), btrim=np.array(btrim), rtrim=np.array(rtrim),
         emo=np.array(emo), actor=np.array(actor), dur=np.array(dur), files=np.array(files))
print('done', f'{time.time()-t0:.0f}s')
