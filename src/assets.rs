//! Where the suite's files come from: the feature files and schemas
//! (`features/`) and the documented snapshot baseline (`snapshots/`).
//!
//! Named folders win (`--features`, `--snapshots`); otherwise the copies
//! embedded at build time, unpacked into a temporary folder. The binary
//! never looks for the source tree it was built from: an installed binary
//! and `cargo run` behave the same in any folder, and nothing is written
//! into a checkout. (The build script rebuilds the binary when a file under
//! `features/` or `snapshots/` is added or changed.) The observed baselines
//! of live targets are not assets: they live in the working folder
//! (`config::DEFAULT_BASELINES`).

use include_dir::{Dir, include_dir};
use std::path::{Path, PathBuf};

static FEATURES: Dir<'_> = include_dir!("$CARGO_MANIFEST_DIR/features");
static SNAPSHOTS: Dir<'_> = include_dir!("$CARGO_MANIFEST_DIR/snapshots");

#[derive(Debug, thiserror::Error)]
pub enum AssetError {
    #[error(
        "{what} folder {path} does not exist: name an existing folder with {flag}, or leave {flag} out to use the built-in suite"
    )]
    Missing {
        what: &'static str,
        flag: &'static str,
        path: String,
    },
    #[error("cannot unpack the built-in suite into a temporary folder: {0}")]
    Unpack(std::io::Error),
}

/// Resolved folders, and the temporary folder that backs them if any (kept
/// alive as long as this value).
pub struct Assets {
    pub features: PathBuf,
    /// The root of the documented baseline (it holds `documented/`).
    pub snapshots: PathBuf,
    /// True when the snapshots are the embedded copy: never write there.
    pub snapshots_embedded: bool,
    _unpacked: Option<tempfile::TempDir>,
}

impl Assets {
    pub fn resolve(
        features: Option<&Path>,
        snapshots: Option<&Path>,
    ) -> Result<Assets, AssetError> {
        let mut unpacked: Option<tempfile::TempDir> = None;
        let mut unpack = |dir: &Dir<'_>, name: &str| -> Result<PathBuf, AssetError> {
            if unpacked.is_none() {
                unpacked = Some(tempfile::tempdir().map_err(AssetError::Unpack)?);
            }
            let root = unpacked.as_ref().expect("just created").path().join(name);
            std::fs::create_dir_all(&root).map_err(AssetError::Unpack)?;
            dir.extract(&root).map_err(AssetError::Unpack)?;
            Ok(root)
        };
        let features = match features {
            Some(p) if p.is_dir() => p.to_path_buf(),
            Some(p) => {
                return Err(AssetError::Missing {
                    what: "features",
                    flag: "--features",
                    path: p.display().to_string(),
                });
            }
            None => unpack(&FEATURES, "features")?,
        };
        let (snapshots, snapshots_embedded) = match snapshots {
            Some(p) if p.is_dir() => (p.to_path_buf(), false),
            Some(p) => {
                return Err(AssetError::Missing {
                    what: "snapshots",
                    flag: "--snapshots",
                    path: p.display().to_string(),
                });
            }
            None => (unpack(&SNAPSHOTS, "snapshots")?, true),
        };
        Ok(Assets {
            features,
            snapshots,
            snapshots_embedded,
            _unpacked: unpacked,
        })
    }

    pub fn schemas(&self) -> PathBuf {
        self.features.join("schemas")
    }
}
