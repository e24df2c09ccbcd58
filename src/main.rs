//! `ser-pipeline`: the thin CLI over the library. Builds a configured run from the command line
//! and `pipeline.toml`, runs it, and maps the outcome to a documented exit code.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{bail, Context, Result};
use clap::Parser;

use ser_pipeline::cli::{Cli, Command, DownloadArgs, LogFormat, PredictArgs, RunArgs, StageArg};
use ser_pipeline::config::{Config, ConfigError};
use ser_pipeline::download;
use ser_pipeline::lock::{LockError, RunLock};
use ser_pipeline::progress;
use ser_pipeline::stages::{self, Settings, Stage};

/// glibc's malloc returns a freed block of more than 128 KB-32 MB (a threshold it adapts) to
/// the OS, and the next file's spectrogram page-faults it back in, zeroed by the kernel: extract
/// spent a fifth of its time there (0.78 s of system time in 3.3 s over the 1200 files, one
/// thread). Blocks up to 64 MB now stay in the heap and are reused; peak memory is unchanged.
///
/// glibc also gives threads that contend for memory arenas of their own (up to 8 per core),
/// and a block freed in one arena is not reused by another: train, whose jobs on the worker
/// threads each build and free matrices of tens of MB, peaked at 434-540 MB over three
/// `/usr/bin/time -f %M ser-pipeline run --stage all --force` of `pipeline.toml` with glibc's
/// default, and at 385-465 MB over six with one arena per core on this 2-core machine (wall
/// 22.9-25.0 s either way; extract's CPU time the same, `perf stat -r 4`).
fn keep_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        let arenas = libc::c_int::try_from(cores.max(2)).unwrap_or(libc::c_int::MAX);
        // SAFETY: mallopt only sets allocator parameters; called before any other thread exists.
        unsafe {
            libc::mallopt(libc::M_MMAP_THRESHOLD, 64 << 20);
            libc::mallopt(libc::M_TRIM_THRESHOLD, 256 << 20);
            libc::mallopt(libc::M_ARENA_MAX, arenas);
        }
    }
}

/// Exit codes (README "Exit codes"). clap itself exits 2 on a usage error.
mod exit {
    pub const OK: u8 = 0;
    pub const ERROR: u8 = 1;
    pub const USAGE: u8 = 2;
    pub const SKIPPED: u8 = 3;
    pub const LOCKED: u8 = 4;
}

fn main() -> ExitCode {
    keep_freed_memory();
    let cli = Cli::parse();
    init_logging(&cli);
    let result = match &cli.command {
        Command::Run(args) => run(args, &cli),
        Command::Predict(args) => predict(args),
        Command::Serve(args) => serve(args),
        Command::Download(args) => download(args, &cli),
    };
    match result {
        Ok(code) => ExitCode::from(code),
        Err(err) => {
            log::error!("{err:#}");
            if err.downcast_ref::<ConfigError>().is_some()
                || err.downcast_ref::<download::MissingCorpus>().is_some()
            {
                ExitCode::from(exit::USAGE)
            } else if matches!(
                err.downcast_ref::<LockError>(),
                Some(LockError::Held { .. })
            ) {
                ExitCode::from(exit::LOCKED)
            } else {
                ExitCode::from(exit::ERROR)
            }
        }
    }
}

fn init_logging(cli: &Cli) {
    let level = match (cli.quiet, cli.verbose) {
        (true, _) => log::LevelFilter::Warn,
        (false, 0) => log::LevelFilter::Info,
        (false, 1) => log::LevelFilter::Debug,
        (false, _) => log::LevelFilter::Trace,
    };
    // Our lines at the chosen level; dependencies' (e.g. symphonia noting RAVDESS's FLLR chunk
    // on every file) only when they warn.
    let mut builder = env_logger::Builder::new();
    builder
        .filter_level(log::LevelFilter::Warn)
        .filter_module("ser_pipeline", level)
        // symphonia logs its own probe failures; we report them, naming the file.
        .filter_module("symphonia", log::LevelFilter::Off)
        .parse_env("SER_LOG")
        .format_target(false);
    if cli.log_format == LogFormat::Json {
        builder.format(|buf, record| {
            use std::io::Write;
            let line = serde_json::json!({
                "ts": buf.timestamp_millis().to_string(),
                "level": record.level().as_str(),
                "msg": record.args().to_string(),
            });
            writeln!(buf, "{line}")
        });
    }
    builder.init();
}

/// `--config FILE` when given, else `./pipeline.toml` when it exists, else none (the defaults).
fn config_path(explicit: Option<&Path>) -> Option<&Path> {
    let default = Path::new("pipeline.toml");
    match explicit {
        Some(path) => Some(path),
        None if default.is_file() => Some(default),
        None => None,
    }
}

/// The config from `--config`, else `./pipeline.toml` if present, else the defaults; then the
/// command-line overrides.
fn load_config(args: &RunArgs) -> Result<Config> {
    let mut config = Config::load_with_overrides(config_path(args.config.as_deref()), &args.set)?;
    if let Some(root) = &args.data_root {
        match config.corpora.as_mut_slice() {
            [] => config.data.root = root.clone(),
            [one] => one.root = Some(root.clone()),
            several => bail!(
                "--data-root sets the root of one corpus, but {} are configured ([[corpora]]); \
                 set each root in the config",
                several.len()
            ),
        }
    }
    if let Some(threads) = args.threads {
        config.run.threads = threads;
    }
    config.check()?;
    Ok(config)
}

fn run(args: &RunArgs, cli: &Cli) -> Result<u8> {
    let config = load_config(args)?;
    let targets: Vec<Stage> = match args.stage {
        StageArg::Scan => vec![Stage::Scan],
        StageArg::Extract => vec![Stage::Extract],
        StageArg::Augment => vec![Stage::Augment],
        StageArg::Train => vec![Stage::Train],
        StageArg::Evaluate => vec![Stage::Evaluate],
        StageArg::All => Stage::ALL.to_vec(),
    };
    let settings = Settings {
        config,
        force: args.force,
        progress: if cli.quiet {
            progress::Mode::Off
        } else {
            progress::Mode::Auto
        },
    };
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(settings.config.run.threads)
        .build()
        .context("cannot start the worker threads")?;
    let paths = stages::Paths::new(&settings.config)?;
    let _lock = RunLock::acquire(
        &paths.out_dir,
        args.wait.map(std::time::Duration::from_secs),
    )?;
    let started = std::time::SystemTime::now();
    // Every stage walks the corpora (the scan's fingerprint), so every stage needs them there;
    // RAVDESS is the kind that can be fetched.
    for corpus in paths
        .corpora
        .corpora
        .iter()
        .filter(|c| c.kind() == "ravdess")
    {
        download::ensure_corpus(
            &corpus.root,
            &download::Fetch {
                allowed: !args.no_download,
                record_url: args.record_url.clone(),
                wait: args.wait.map(std::time::Duration::from_secs),
                progress: settings.progress,
            },
        )?;
    }
    let summary = pool.install(|| stages::run(&targets, &settings))?;
    stages::write_errors(&paths, &summary.skipped)?;
    let code = if summary.skipped.is_empty() {
        if summary.stages_run.is_empty() {
            log::info!("ok: every stage up to date, nothing run");
        } else {
            log::info!("ok: ran {}", summary.stages_run.join(", "));
        }
        exit::OK
    } else {
        log::warn!(
            "finished with {} file(s) skipped; see {}",
            summary.skipped.len(),
            paths.errors().display()
        );
        exit::SKIPPED
    };
    pool.install(|| stages::write_run_record(&paths, &settings.config, &summary, started, code))?;
    Ok(code)
}

fn predict(args: &PredictArgs) -> Result<u8> {
    use ser_pipeline::predict::{predict_files, Predictor};
    let model_dir = default_model(args.model.as_deref())?;
    let predictor = Predictor::load(&model_dir)?;
    let mut files = Vec::new();
    let mut any_dir = false;
    for input in &args.inputs {
        if input.is_dir() {
            any_dir = true;
            let (found, problems) = ser_pipeline::corpus::walk(input);
            for p in problems {
                log::warn!("predict: {}: {}", input.join(&p.path).display(), p.message);
            }
            files.extend(found.into_iter().map(|f| f.abs_path));
        } else {
            files.push(input.clone());
        }
    }
    if files.is_empty() {
        anyhow::bail!("predict: no audio files (.wav, .flac) in the inputs");
    }
    let kind = match args.corpus.as_deref() {
        Some(name) => Some(ser_pipeline::corpus::file_name_kind(name).ok_or_else(|| {
            anyhow::anyhow!(
                "predict --corpus {name:?}: not a file-name kind (ravdess, emodb, emovo, \
                 crema_d, tess, savee)"
            )
        })?),
        None => None,
    };
    let (kind_used, speakers) = match &args.config {
        Some(path) => speakers_by_config(path, &files)?,
        None => {
            let (kind, speakers) = ser_pipeline::predict::speakers_of(&files, kind);
            (kind.map(|k| format!("by {k} file names")), speakers)
        }
    };
    if predictor.speaker_normalised() {
        let named = speakers.iter().filter(|s| s.is_some()).count();
        match kind_used {
            Some(k) => log::info!(
                "predict: {named} of {} files name their speaker ({k}); a speaker with \
                 {} or more of them is standardised on their own statistics, every other file \
                 on the training speakers' average",
                files.len(),
                ser_pipeline::predict::MIN_SPEAKER_RECORDINGS
            ),
            None => log::info!(
                "predict: no file name follows a known corpus convention, so no file's \
                 speaker is known: every file is standardised on the training speakers' \
                 average statistics (--corpus KIND names the convention)"
            ),
        }
    }
    let results = predict_files(&predictor, &files, &speakers, args.population_statistics);
    for r in results.iter().filter(|r| r.error.is_some()) {
        log::warn!(
            "predict: skipped {}: {}",
            r.path,
            r.error.as_deref().unwrap_or("")
        );
    }
    if args.json {
        println!("{}", serde_json::to_string_pretty(&results)?);
    } else {
        print_table(&predictor.labels, &results);
    }
    let out = args
        .out
        .clone()
        .or_else(|| any_dir.then(|| "predictions.parquet".into()));
    if let Some(out) = out {
        write_prediction_table(&out, &predictor.labels, &results)?;
        log::info!("predict: wrote {}", out.display());
    }
    let skipped = results.iter().filter(|r| r.error.is_some()).count();
    Ok(if skipped == 0 {
        exit::OK
    } else {
        exit::SKIPPED
    })
}

/// `predict --config`: each file's speaker as the config's corpora read it; files under no
/// configured corpus by the file-name convention that reads the most of them. Returns how the
/// speakers were read, for the log.
fn speakers_by_config(
    config: &Path,
    files: &[PathBuf],
) -> Result<(Option<String>, Vec<Option<String>>)> {
    let corpora = Config::load_with_overrides(Some(config), &[])?.corpora()?;
    let placed = corpora
        .speakers_of(files)
        .map_err(|e| anyhow::anyhow!("predict --config {}: {e}", config.display()))?;
    let names: Vec<String> = corpora
        .corpora
        .iter()
        .map(|c| format!("{} ({})", c.name, c.kind()))
        .collect();
    let mut how = format!(
        "as the corpora of {} read them: {}",
        config.display(),
        names.join(", ")
    );
    let outside: Vec<usize> = (0..files.len()).filter(|&i| placed[i].is_none()).collect();
    let mut speakers: Vec<Option<String>> = placed.into_iter().map(Option::flatten).collect();
    if !outside.is_empty() {
        let rest: Vec<PathBuf> = outside.iter().map(|&i| files[i].clone()).collect();
        let (kind, guessed) = ser_pipeline::predict::speakers_of(&rest, None);
        for (&i, s) in outside.iter().zip(guessed) {
            speakers[i] = s;
        }
        how.push_str(&match kind {
            Some(k) => format!("; {} under none of them, by {k} file names", outside.len()),
            None => format!("; {} under none of them, unknown", outside.len()),
        });
    }
    Ok((Some(how), speakers))
}

fn download(args: &DownloadArgs, cli: &Cli) -> Result<u8> {
    use ser_pipeline::download::{Archive, Options, Outcome};
    let dest = match &args.dest {
        Some(dest) => dest.clone(),
        None => {
            Config::load_with_overrides(config_path(args.config.as_deref()), &[])?
                .data
                .root
        }
    };
    let mut archives = vec![Archive::Speech];
    if args.song {
        archives.push(Archive::Song);
    }
    // Two downloads into one folder would write the same .part file.
    let _lock = RunLock::acquire(
        &dest.join(".download"),
        args.wait.map(std::time::Duration::from_secs),
    )?;
    let outcomes = download::run(&Options {
        record_url: args.record_url.clone(),
        dest: dest.clone(),
        archives,
        force: args.force,
        keep_archive: args.keep_archive,
        progress: if cli.quiet {
            progress::Mode::Off
        } else {
            progress::Mode::Auto
        },
    })?;
    if outcomes
        .iter()
        .all(|(_, o)| matches!(o, Outcome::UpToDate { .. }))
    {
        log::info!("ok: {} up to date, nothing downloaded", dest.display());
    } else {
        log::info!("ok: {} is ready for `run`", dest.display());
    }
    Ok(exit::OK)
}

/// `--model`, or else the default model folder under the models folder of `./pipeline.toml`
/// (`data/models` with the built-in defaults), logged so the user sees which.
fn default_model(given: Option<&Path>) -> Result<std::path::PathBuf> {
    if let Some(dir) = given {
        return Ok(dir.to_path_buf());
    }
    let config = Config::load_with_overrides(config_path(None), &[])?;
    let models = stages::Paths::new(&config)?.models_dir();
    let dir = ser_pipeline::predict::default_model_dir(&models)?;
    log::info!("using the model in {} (no --model given)", dir.display());
    Ok(dir)
}

fn serve(args: &ser_pipeline::serve::ServeArgs) -> Result<u8> {
    let model = default_model(args.model.as_deref())?;
    ser_pipeline::serve::run(args, &model)?;
    Ok(exit::OK)
}

fn print_table(labels: &[String], results: &[ser_pipeline::predict::FileResult]) {
    let width = results
        .iter()
        .map(|r| r.path.len())
        .max()
        .unwrap_or(4)
        .max(4);
    print!("{:<width$}  {:<10}", "file", "emotion");
    for l in labels {
        print!(" {:>9}", l.chars().take(9).collect::<String>());
    }
    println!();
    for r in results {
        match &r.prediction {
            Some(p) => {
                print!("{:<width$}  {:<10}", r.path, p.emotion);
                for (_, v) in &p.probabilities {
                    print!(" {v:>9.3}");
                }
                println!();
            }
            None => println!(
                "{:<width$}  error: {}",
                r.path,
                r.error.as_deref().unwrap_or("")
            ),
        }
    }
}

/// `path`, `emotion`, `duration_s`, `error`, then `prob_<class>`; .csv or .parquet by extension.
fn write_prediction_table(
    out: &Path,
    labels: &[String],
    results: &[ser_pipeline::predict::FileResult],
) -> Result<()> {
    use polars::prelude::{Column, DataFrame};
    let mut columns = vec![
        Column::new(
            "path".into(),
            results.iter().map(|r| r.path.as_str()).collect::<Vec<_>>(),
        ),
        Column::new(
            "emotion".into(),
            results
                .iter()
                .map(|r| r.prediction.as_ref().map(|p| p.emotion.as_str()))
                .collect::<Vec<_>>(),
        ),
        Column::new(
            "duration_s".into(),
            results
                .iter()
                .map(|r| r.prediction.as_ref().map(|p| p.duration_s))
                .collect::<Vec<_>>(),
        ),
        Column::new(
            "error".into(),
            results
                .iter()
                .map(|r| r.error.as_deref())
                .collect::<Vec<_>>(),
        ),
    ];
    for (j, label) in labels.iter().enumerate() {
        columns.push(Column::new(
            format!("prob_{label}").into(),
            results
                .iter()
                .map(|r| r.prediction.as_ref().map(|p| p.probabilities[j].1))
                .collect::<Vec<_>>(),
        ));
    }
    if out.extension().and_then(|e| e.to_str()) == Some("csv") {
        let mut header = vec!["path", "emotion", "duration_s", "error"];
        let prob_names: Vec<String> = labels.iter().map(|l| format!("prob_{l}")).collect();
        header.extend(prob_names.iter().map(String::as_str));
        let rows: Vec<Vec<String>> = results
            .iter()
            .map(|r| {
                let mut row = vec![r.path.clone()];
                match &r.prediction {
                    Some(p) => {
                        row.push(p.emotion.clone());
                        row.push(p.duration_s.to_string());
                        row.push(String::new());
                        row.extend(p.probabilities.iter().map(|(_, v)| v.to_string()));
                    }
                    None => {
                        row.extend([String::new(), String::new()]);
                        row.push(r.error.clone().unwrap_or_default());
                        row.extend(labels.iter().map(|_| String::new()));
                    }
                }
                row
            })
            .collect();
        return ser_pipeline::data::csv::write(out, &header, &rows);
    }
    let mut df = DataFrame::new(results.len(), columns)?;
    ser_pipeline::data::parquet::write(out, &mut df)
}
