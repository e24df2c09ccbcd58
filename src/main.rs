//! `ser-pipeline`: the thin CLI over the library. Builds a configured run from the command line
//! and `pipeline.toml`, runs it, and maps the outcome to a documented exit code.

use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::Parser;

use ser_pipeline::cli::{Cli, Command, RunArgs, StageArg};
use ser_pipeline::config::{Config, ConfigError};
use ser_pipeline::lock::{LockError, RunLock};
use ser_pipeline::progress;
use ser_pipeline::stages::{self, Settings, Stage};

/// Exit codes (README "Exit codes"). clap itself exits 2 on a usage error.
mod exit {
    pub const OK: u8 = 0;
    pub const ERROR: u8 = 1;
    pub const USAGE: u8 = 2;
    pub const SKIPPED: u8 = 3;
    pub const LOCKED: u8 = 4;
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging(&cli);
    let result = match &cli.command {
        Command::Run(args) => run(args, &cli),
    };
    match result {
        Ok(code) => ExitCode::from(code),
        Err(err) => {
            log::error!("{err:#}");
            if err.downcast_ref::<ConfigError>().is_some() {
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
    env_logger::Builder::new()
        .filter_level(log::LevelFilter::Warn)
        .filter_module("ser_pipeline", level)
        .parse_env("SER_LOG")
        .format_target(false)
        .init();
}

/// The config from `--config`, else `./pipeline.toml` if present, else the defaults; then the
/// command-line overrides.
fn load_config(args: &RunArgs) -> Result<Config> {
    let default = Path::new("pipeline.toml");
    let path = match &args.config {
        Some(path) => Some(path.as_path()),
        None if default.is_file() => Some(default),
        None => None,
    };
    let mut config = Config::load_with_overrides(path, &args.set)?;
    if let Some(root) = &args.data_root {
        config.data.root = root.clone();
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
    let paths = stages::Paths::new(&settings.config);
    let _lock = RunLock::acquire(
        &paths.out_dir,
        args.wait.map(std::time::Duration::from_secs),
    )?;
    let started = std::time::SystemTime::now();
    let summary = pool.install(|| stages::run(&targets, &settings))?;
    stages::write_errors(&paths, &summary.skipped)?;
    let code = if summary.skipped.is_empty() {
        log::info!("ok: {}", summary.stages_run.join(", "));
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
