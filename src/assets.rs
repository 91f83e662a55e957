//! Where the suite's files come from: the feature files and schemas
//! (`features/`) and the snapshot baselines (`snapshots/`).
//!
//! Named folders win; otherwise the source tree the binary was built from,
//! when it is still there (so `cargo run` sees edits at once and new
//! snapshots land in the repository); otherwise the copies embedded at build
//! time, unpacked into a temporary folder (so an installed binary works from
//! any directory).

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
        let source = Path::new(env!("CARGO_MANIFEST_DIR"));
        // PAYU_ASSETS=embedded forces the built-in copies, as an installed
        // binary whose source tree is gone would see them.
        let source_tree = std::env::var("PAYU_ASSETS").map_or(true, |v| v != "embedded");
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
            None if source_tree && source.join("features").is_dir() => source.join("features"),
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
            None if source_tree && source.join("snapshots").is_dir() => {
                (source.join("snapshots"), false)
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
