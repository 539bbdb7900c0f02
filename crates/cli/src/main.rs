//! `rill`: convert ONNX models, inspect and run `.rill` files.
use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod audio;
mod cmd_codegen;
mod cmd_convert;
mod cmd_detect;
mod cmd_inspect;
mod cmd_run;
mod cmd_verify;
mod files;
mod plot;
mod summary;

#[derive(Parser)]
#[command(
    name = "rill",
    version,
    about = "Sequence models on microcontrollers: convert, inspect, run, verify"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Convert an ONNX model into a .rill file.
    Convert(cmd_convert::Args),
    /// Show what a .rill file holds and what it costs.
    Inspect(cmd_inspect::Args),
    /// Run a .rill model on the host with the same runtime the MCU uses.
    Run(cmd_run::Args),
    /// Compare a .rill model with its ONNX original on real data: errors, SQNR, agreement, accuracy.
    Verify(cmd_verify::Args),
    /// Emit a .rill model as Rust or C source for firmware (aligned bytes and arena sizes).
    Codegen(cmd_codegen::Args),
    /// Find keywords in a 16-bit mono WAV: the model's MFCC front end, the model every few frames,
    /// smoothing and a threshold; one line per keyword with its time.
    Detect(cmd_detect::Args),
}

/// `println!` panics when stdout is a pipe its reader closed (`rill inspect m.rill | head`). A closed
/// reader wants no more output, so that one case ends the process quietly, as `cat` or `ls` would;
/// every other panic keeps the default report.
fn quiet_on_closed_stdout() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let msg = info
            .payload()
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| info.payload().downcast_ref::<&str>().copied())
            .unwrap_or("");
        if msg.contains("failed printing to stdout") && msg.contains("Broken pipe") {
            std::process::exit(0);
        }
        default(info);
    }));
}

fn main() -> ExitCode {
    quiet_on_closed_stdout();
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Convert(a) => cmd_convert::run(a),
        Command::Inspect(a) => cmd_inspect::run(a),
        Command::Run(a) => cmd_run::run(a),
        Command::Verify(a) => cmd_verify::run(a),
        Command::Codegen(a) => cmd_codegen::run(a),
        Command::Detect(a) => cmd_detect::run(a),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
