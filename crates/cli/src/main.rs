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

impl Command {
    /// Whether the user asked for JSON on stdout (the commands that have `--json`).
    fn json(&self) -> bool {
        match self {
            Command::Convert(a) => a.json,
            Command::Inspect(a) => a.json,
            Command::Verify(a) => a.json,
            Command::Detect(a) => a.json,
            Command::Run(_) | Command::Codegen(_) => false,
        }
    }
}

/// A failure as JSON for a script that asked for `--json` and parses stdout: one object, so stdout
/// is valid JSON whether the command succeeded or not. The human text still goes to stderr.
fn print_json_error(message: &str) {
    println!("{}", serde_json::json!({ "error": message }));
}

/// Whether `--json` is among the arguments, for errors found before the arguments could be parsed
/// (they never reach a parsed `Command` to ask). Arguments after `--` are operands, not flags.
fn json_in_raw_args() -> bool {
    std::env::args_os()
        .skip(1)
        .take_while(|a| a != "--")
        .any(|a| a == "--json")
}

fn main() -> ExitCode {
    quiet_on_closed_stdout();
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            // Help and version are not failures; a usage error is, and it is reported like the
            // others when JSON was asked for.
            if e.use_stderr() && json_in_raw_args() {
                print_json_error(e.render().to_string().trim_end());
            }
            e.exit()
        }
    };
    let json = cli.command.json();
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
            let message = format!("{e:#}");
            eprintln!("error: {message}");
            if json {
                print_json_error(&message);
            }
            ExitCode::FAILURE
        }
    }
}
