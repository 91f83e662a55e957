//! `payu-contract baseline`: review a live target's observed baseline
//! without Rust. Lists what the target's last runs recorded (new, or changed
//! since the accepted observation) with a readable diff, and accepts one
//! scenario or all: after a question on a terminal, or with `--yes` in a
//! script. It never accepts on its own: no `--accept`/`--all`, nothing is
//! written; under CI (`CI=true`) it never asks, so accepting needs `--yes`.
//!
//! The observations were redacted when they were recorded; what is shown
//! passes the scrubber again with every secret the environment holds.

use crate::cli::BaselineArgs;
use payu_contract::config::{Settings, Target};
use payu_contract::contract::snapshot::{self, Baseline, Pending, SnapshotMode};
use payu_contract::redact::Scrubber;
use payu_contract::report::exit;
use std::io::{BufRead, IsTerminal, Write};

pub fn baseline(args: BaselineArgs, settings: Settings) -> i32 {
    match review(&args, &settings) {
        Ok(code) => code,
        Err(message) => {
            eprintln!("error: {message}");
            exit::CONFIG
        }
    }
}

fn review(args: &BaselineArgs, settings: &Settings) -> Result<i32, String> {
    let root = settings.baselines();
    let known = snapshot::targets(&root);
    let folder = folder(args, settings, &known, &root)?;
    let baseline = Baseline::new(&root, folder.as_str(), SnapshotMode::CompareOnly);
    let scrubber = Scrubber::default();
    for secret in settings.secret_values() {
        scrubber.add(secret.expose());
    }
    let pending = baseline.pending().map_err(|e| {
        format!(
            "cannot read the observed baseline {}: {e}",
            baseline.dir().display()
        )
    })?;
    let shown = root.join(&folder);
    let accepted = baseline.accepted_count();
    if pending.is_empty() {
        if !args.accept.is_empty() {
            return Err(format!(
                "nothing to accept for {folder}: no observation is waiting for review in {}",
                shown.display()
            ));
        }
        println!(
            "{folder}: nothing to review ({accepted} accepted observations in {})",
            shown.display()
        );
        return Ok(exit::PASSED);
    }

    let mut out = format!(
        "{folder}: {} observations waiting for review in {} ({accepted} accepted)\n",
        pending.len(),
        shown.display()
    );
    for p in &pending {
        let state = if p.accepted.is_some() {
            "changed"
        } else {
            "new    "
        };
        out.push_str(&format!("  {state}  {}\n", p.name));
    }
    if !args.quiet {
        for p in &pending {
            out.push_str(&format!("\n{} ({}):\n", p.name, describe(p)));
            out.push_str(&p.diff());
        }
    }
    print!("{}", scrubber.scrub(&out));

    // What to accept.
    let chosen: Vec<&Pending> = if args.all {
        pending.iter().collect()
    } else {
        let mut chosen = Vec::new();
        for name in &args.accept {
            let p = pending.iter().find(|p| &p.name == name).ok_or_else(|| {
                format!(
                    "--accept {name}: no such observation waiting for {folder}; the list above names them"
                )
            })?;
            chosen.push(p);
        }
        chosen
    };
    if chosen.is_empty() {
        println!(
            "\naccept with: payu-contract baseline {folder} --accept <name> (or --all); add --yes in scripts"
        );
        return Ok(exit::DRIFTED);
    }
    if !args.yes {
        let in_ci = std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "false");
        if in_ci || !std::io::stdin().is_terminal() {
            return Err(format!(
                "accepting {} observation(s) of {folder} needs a confirmation: run on a terminal, or pass --yes{}",
                chosen.len(),
                if in_ci {
                    " (CI never accepts by itself)"
                } else {
                    ""
                }
            ));
        }
        print!(
            "\naccept {} observation(s) of {folder} as its baseline? [y/N] ",
            chosen.len()
        );
        let _ = std::io::stdout().flush();
        let mut answer = String::new();
        let _ = std::io::stdin().lock().read_line(&mut answer);
        if !matches!(answer.trim(), "y" | "Y" | "yes") {
            println!("nothing accepted");
            return Ok(exit::DRIFTED);
        }
    }
    for p in &chosen {
        baseline
            .accept(&p.name)
            .map_err(|e| format!("cannot accept {}: {e}", p.name))?;
        println!("accepted {}", p.name);
    }
    let left = pending.len() - chosen.len();
    println!(
        "{folder}: {} accepted, {left} still waiting for review",
        chosen.len()
    );
    Ok(if left == 0 {
        exit::PASSED
    } else {
        exit::DRIFTED
    })
}

fn describe(p: &Pending) -> &'static str {
    if p.accepted.is_some() {
        "changed since the accepted observation"
    } else {
        "new: nothing accepted yet"
    }
}

/// The target's folder: named, else the live target of the settings, else
/// the only one recorded.
fn folder(
    args: &BaselineArgs,
    settings: &Settings,
    known: &[String],
    root: &std::path::Path,
) -> Result<String, String> {
    let list = || {
        if known.is_empty() {
            format!(
                "no target has recorded observations in {} (a live run outside CI records them; --baselines names another folder)",
                root.display()
            )
        } else {
            format!("targets with observations: {}", known.join(", "))
        }
    };
    if let Some(name) = &args.name {
        let folder = snapshot::target_dir_name(name);
        if known.contains(&folder) {
            return Ok(folder);
        }
        return Err(format!("no observations for \"{name}\": {}", list()));
    }
    match settings.target_only().map_err(|e| e.to_string())? {
        Target::Live { name, .. } => Ok(snapshot::target_dir_name(&name)),
        Target::Local { .. } => match known {
            [one] => Ok(one.clone()),
            _ => Err(format!(
                "name the target to review (payu-contract baseline NAME, or --target/--token-url as for the run): {}",
                list()
            )),
        },
    }
}
