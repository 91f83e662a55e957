//! `payu-contract mutants`: the drift-detection matrix. Runs the whole suite
//! against every profile of the embedded double, each in its own child
//! process (`payu-contract run --profile NAME`, its double on its own free
//! port), a few at once, and judges each JSON report against the expectation
//! table in `payu_contract::mutants`.
//!
//! Children run with `CI=true` (no snapshot is ever written), no `PAYU_*`
//! setting from the environment and an empty env file: the matrix is the
//! suite with its defaults, whatever the caller's `.env` says.

use crate::cli::MutantsArgs;
use payu_contract::mutants::{self, Expectation, Matrix, Row};
use payu_contract::report::{RunReport, exit};
use payu_double::Profile;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

pub fn mutants(args: MutantsArgs) -> i32 {
    let names: Vec<&str> = Profile::all().iter().map(Profile::name).collect();
    let plan = match mutants::plan(&names) {
        Ok(plan) => plan,
        Err(e) => {
            eprintln!("error: {e}");
            return exit::DRIFTED;
        }
    };
    let unknown: Vec<&str> = args
        .only
        .iter()
        .map(String::as_str)
        .filter(|o| !names.contains(o))
        .collect();
    if !unknown.is_empty() {
        eprintln!(
            "error: --only names no profile of the double: {} (`payu-contract profiles` lists them)",
            unknown.join(", ")
        );
        return exit::CONFIG;
    }
    let plan: Vec<Expectation> = plan
        .into_iter()
        .filter(|e| args.only.is_empty() || args.only.iter().any(|o| o == e.profile))
        .collect();
    let exe = match std::env::current_exe() {
        Ok(exe) => exe,
        Err(e) => {
            eprintln!("error: cannot find this program's own path to run the suite: {e}");
            return exit::CONFIG;
        }
    };
    let tmp = match tempfile::tempdir() {
        Ok(t) => t,
        Err(e) => {
            eprintln!("error: cannot create a temporary folder for the reports: {e}");
            return exit::CONFIG;
        }
    };
    let reports = args
        .reports_dir
        .clone()
        .unwrap_or_else(|| tmp.path().to_path_buf());
    if let Err(e) = std::fs::create_dir_all(&reports) {
        eprintln!(
            "error: cannot create the reports folder {}: {e}",
            reports.display()
        );
        return exit::CONFIG;
    }
    let empty_env = tmp.path().join("empty.env");
    if let Err(e) = std::fs::write(&empty_env, "") {
        eprintln!("error: cannot write {}: {e}", empty_env.display());
        return exit::CONFIG;
    }
    let jobs = args.jobs.unwrap_or_else(default_jobs).clamp(1, 32);
    let child = Child {
        exe: &exe,
        empty_env: &empty_env,
        reports: &reports,
        features: args.features.as_deref(),
        snapshots: args.snapshots.as_deref(),
    };
    if !args.quiet {
        eprintln!(
            "running the suite against {} profiles, {jobs} at once ...",
            plan.len()
        );
    }
    let started = Instant::now();
    let rows = run_all(&plan, jobs, &child, args.quiet);
    let matrix = Matrix {
        rows: in_doubles_order(rows, &names),
        wall_time: started.elapsed(),
        jobs,
    };
    print!("{}", matrix.render());
    if matrix.all_as_expected() {
        exit::PASSED
    } else {
        exit::DRIFTED
    }
}

/// Loopback runs mostly wait: twice the cores, at least 4, at most 8.
fn default_jobs() -> usize {
    let cores = std::thread::available_parallelism().map_or(2, std::num::NonZero::get);
    (2 * cores).clamp(4, 8)
}

struct Child<'a> {
    exe: &'a Path,
    empty_env: &'a Path,
    reports: &'a Path,
    features: Option<&'a Path>,
    snapshots: Option<&'a Path>,
}

impl Child<'_> {
    /// Runs the suite against one profile and judges its report.
    fn run(&self, e: &Expectation) -> Row {
        let report_path: PathBuf = self.reports.join(format!("{}.json", e.profile));
        let _ = std::fs::remove_file(&report_path);
        let mut cmd = Command::new(self.exe);
        cmd.arg("--env-file")
            .arg(self.empty_env)
            .args(["run", "--target", "local", "--profile", e.profile, "-q"])
            .arg("--report-json")
            .arg(&report_path);
        if let Some(f) = self.features {
            cmd.arg("--features").arg(f);
        }
        if let Some(s) = self.snapshots {
            cmd.arg("--snapshots").arg(s);
        }
        for (key, _) in std::env::vars_os() {
            if key.to_string_lossy().starts_with("PAYU_") {
                cmd.env_remove(key);
            }
        }
        let stderr_path = self.reports.join(format!("{}.stderr", e.profile));
        let stderr = match std::fs::File::create(&stderr_path) {
            Ok(f) => Stdio::from(f),
            Err(_) => Stdio::null(),
        };
        cmd.env("CI", "true")
            .env("NO_COLOR", "1")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(stderr);
        let started = Instant::now();
        let status = run_with_deadline(&mut cmd, CHILD_DEADLINE);
        let took = started.elapsed();
        let stderr_text = std::fs::read_to_string(&stderr_path).unwrap_or_default();
        let _ = std::fs::remove_file(&stderr_path);
        let report = status.and_then(|code| {
            let exit = code.map_or("by signal".into(), |c| c.to_string());
            let report = read_report(&report_path)
                .map_err(|why| format!("exit {exit}, {why}: {}", stderr_text.trim()))?;
            if code != Some(report.exit_code) {
                return Err(format!(
                    "the run exited {exit} but its report says exit {}",
                    report.exit_code
                ));
            }
            Ok(report)
        });
        mutants::judge(e, report.as_ref().map_err(Clone::clone), took)
    }
}

/// One suite run takes about a second (the `slow` profile about 12 s); a
/// child still running after this is stuck and is stopped.
const CHILD_DEADLINE: Duration = Duration::from_secs(120);

/// Runs the child to its end, or kills it at the deadline. The exit code,
/// or why there is none.
fn run_with_deadline(cmd: &mut Command, deadline: Duration) -> Result<Option<i32>, String> {
    let mut child = cmd
        .spawn()
        .map_err(|e| format!("cannot start {:?}: {e}", cmd.get_program()))?;
    let started = Instant::now();
    loop {
        match child.try_wait() {
            Ok(Some(status)) => return Ok(status.code()),
            Ok(None) if started.elapsed() >= deadline => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!(
                    "the suite run did not finish within {} s and was stopped",
                    deadline.as_secs()
                ));
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(20)),
            Err(e) => return Err(format!("cannot wait for the suite run: {e}")),
        }
    }
}

fn read_report(path: &Path) -> Result<RunReport, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("no JSON report at {} ({e})", path.display()))?;
    serde_json::from_str(&text)
        .map_err(|e| format!("the JSON report {} is unreadable: {e}", path.display()))
}

/// `jobs` worker threads take profiles off one queue, in plan order.
fn run_all(plan: &[Expectation], jobs: usize, child: &Child<'_>, quiet: bool) -> Vec<Row> {
    let queue = Mutex::new(plan.iter());
    let rows = Mutex::new(Vec::with_capacity(plan.len()));
    std::thread::scope(|s| {
        for _ in 0..jobs.min(plan.len()) {
            s.spawn(|| {
                loop {
                    let next = queue
                        .lock()
                        .unwrap_or_else(std::sync::PoisonError::into_inner)
                        .next();
                    let Some(e) = next else { break };
                    let row = child.run(e);
                    if !quiet {
                        eprintln!(
                            "  {:<34} {:<10} {:>5.1} s  {}",
                            row.profile,
                            row.observed,
                            row.duration.as_secs_f64(),
                            row.outcome.as_str()
                        );
                    }
                    rows.lock()
                        .unwrap_or_else(std::sync::PoisonError::into_inner)
                        .push(row);
                }
            });
        }
    });
    rows.into_inner()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn in_doubles_order(mut rows: Vec<Row>, names: &[&str]) -> Vec<Row> {
    rows.sort_by_key(|r| names.iter().position(|n| *n == r.profile));
    rows
}
