//! The command line: clap definitions only. `main` turns these into a configured run.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

#[derive(Debug, Parser)]
#[command(
    name = "ser-pipeline",
    version,
    about = "Speech emotion recognition on RAVDESS: librosa-faithful features, honest evaluation.",
    after_help = "Exit codes: 0 ok; 1 error; 2 usage or config error, or no corpus with \
                  run --no-download; \
                  3 finished, but some inputs were skipped (see data/errors.csv); \
                  4 another run holds the output folder's lock."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,

    /// Less output: warnings and errors only.
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    pub quiet: bool,

    /// More output (-v debug, -vv trace).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,

    /// Log line format on stderr: `text`, or `json` (one object per line: ts, level, msg) for
    /// schedulers and log collectors.
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run one stage of the pipeline, or all of them, as configured in pipeline.toml. A RAVDESS
    /// corpus root that does not exist, or holds no audio, is downloaded first (as `download`
    /// does; --no-download refuses).
    Run(RunArgs),
    /// Predict the emotion of audio files with a saved model.
    Predict(PredictArgs),
    /// Serve a web page and a JSON API that predict the emotion of uploaded or recorded audio.
    Serve(crate::serve::ServeArgs),
    /// Fetch the RAVDESS audio archives from Zenodo, verify their checksums and unzip them into
    /// the corpus root. A rerun with everything in place does nothing.
    Download(DownloadArgs),
}

#[derive(Debug, Args)]
pub struct DownloadArgs {
    /// Folder to unzip into (Actor_01/ ... Actor_24/). Default: `data.root` of the config
    /// (data/ravdess).
    #[arg(long, value_name = "DIR")]
    pub dest: Option<PathBuf>,

    /// Config file whose `data.root` is the default --dest. Default: ./pipeline.toml when it
    /// exists, else built-in defaults.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// Also fetch the song archive (Audio_Song_Actors_01-24.zip); the speech archive is always
    /// fetched.
    #[arg(long)]
    pub song: bool,

    /// The Zenodo record's JSON (files, sizes, md5 checksums, links).
    #[arg(long, value_name = "URL", default_value = crate::download::RAVDESS_RECORD_URL)]
    pub record_url: String,

    /// Download and unzip again even when a previous download is complete.
    #[arg(long)]
    pub force: bool,

    /// Keep the verified zip in DEST/.download/ after unzipping (default: delete it).
    #[arg(long)]
    pub keep_archive: bool,

    /// When another download into DEST holds its lock, wait up to this many seconds for it
    /// (default: exit at once with code 4).
    #[arg(long, value_name = "SECONDS")]
    pub wait: Option<u64>,
}

#[derive(Debug, Args)]
pub struct PredictArgs {
    /// A model folder written by the train stage, e.g. data/models/svm. Default: the first of
    /// data/models/{ensemble, svm, mlp, logistic_regression, random_forest, knn} that exists.
    #[arg(long, value_name = "DIR")]
    pub model: Option<PathBuf>,

    /// Audio files, or folders searched at any depth for .wav / .flac.
    #[arg(required = true, value_name = "FILE_OR_DIR")]
    pub inputs: Vec<PathBuf>,

    /// Print JSON (one array of objects) instead of a table.
    #[arg(long)]
    pub json: bool,

    /// Also write the predictions to this table (.parquet or .csv). Default when a folder is
    /// given: predictions.parquet.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,

    /// The file-name convention that names each file's speaker (ravdess, emodb, emovo,
    /// crema_d, tess, savee), so a speaker with enough recordings gets their own statistics.
    /// Default: the convention that reads the most of the names; none, the average speaker.
    #[arg(long, value_name = "KIND", conflicts_with = "config")]
    pub corpus: Option<String>,

    /// Read each file's speaker the way this config's `[[corpora]]` read them (their file-name
    /// conventions, folders' `speaker_pattern`, manifests' `speaker` column), for files under a
    /// configured corpus's root or in its manifest; other files as without it.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// For a model trained with per-speaker normalisation: standardise every file with the
    /// training speakers' average statistics, as a lone clip is, even for speakers with enough
    /// recordings here for their own (to measure what a lone clip of a new speaker gets).
    #[arg(long)]
    pub population_statistics: bool,
}

#[derive(Debug, Args)]
pub struct RunArgs {
    /// Which stage to run. A stage first runs the stages it needs whose outputs are missing.
    #[arg(long, value_enum, default_value_t = StageArg::All)]
    pub stage: StageArg,

    /// Config file. Default: ./pipeline.toml when it exists, else built-in defaults.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// Override a config key: `--set features.stats='["mean","std"]'`, `--set models.mlp.alpha=0.01`
    /// (VALUE in TOML syntax; repeatable).
    #[arg(long, value_name = "KEY=VALUE")]
    pub set: Vec<String>,

    /// Corpus root to scan, overriding `data.root` in the config.
    #[arg(long, value_name = "DIR")]
    pub data_root: Option<PathBuf>,

    /// Never download: when the corpus root does not exist or holds no audio, exit with code 2
    /// and say how to fetch it, instead of downloading RAVDESS's speech archive into it first.
    #[arg(long)]
    pub no_download: bool,

    /// The Zenodo record's JSON to download RAVDESS from when the corpus root lacks it (as
    /// `download --record-url`).
    #[arg(long, value_name = "URL", default_value = crate::download::RAVDESS_RECORD_URL)]
    pub record_url: String,

    /// Recompute even when an output exists.
    #[arg(long)]
    pub force: bool,

    /// When another run holds the output folder's lock, wait up to this many seconds for it
    /// (default: exit at once with code 4).
    #[arg(long, value_name = "SECONDS")]
    pub wait: Option<u64>,

    /// Worker threads, overriding `run.threads` (0: one per core).
    #[arg(long, value_name = "N")]
    pub threads: Option<usize>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum StageArg {
    /// Walk the corpus, parse names, read headers -> data/manifest.parquet.
    Scan,
    /// Decode audio and compute features -> data/features.parquet.
    Extract,
    /// Augmented copies of (minority-class) files -> data/augmented.parquet.
    Augment,
    /// Fit every model on every split -> data/predictions.parquet, data/models/.
    Train,
    /// Reports from the predictions -> reports/.
    Evaluate,
    /// Every stage, in order.
    All,
}
