//! Reading a policy set from disk: every `*.writ` file under a directory, recursively,
//! in sorted order. Entries whose names start with `.` are skipped, so the `..data`
//! directories of a Kubernetes ConfigMap are read once, through their symlinks.

use std::collections::HashSet;
use std::fmt;
use std::path::{Path, PathBuf};

use writ_syntax::SourceMap;

/// Why a policy set could not be read.
#[derive(Debug)]
pub enum LoadError {
    /// A file or directory could not be read.
    Io {
        /// The path.
        path: PathBuf,
        /// The OS error.
        error: std::io::Error,
    },
    /// A file is not UTF-8.
    NotUtf8 {
        /// The path.
        path: PathBuf,
    },
    /// The directory holds no `.writ` file.
    Empty {
        /// The directory.
        path: PathBuf,
    },
}

impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LoadError::Io { path, error } => write!(f, "cannot read `{}`: {error}", path.display()),
            LoadError::NotUtf8 { path } => write!(f, "`{}` is not UTF-8 text", path.display()),
            LoadError::Empty { path } => write!(f, "no `.writ` files under `{}`", path.display()),
        }
    }
}

impl std::error::Error for LoadError {}

/// Reads one `.writ` file or every `.writ` file under a directory.
pub fn load_path(path: &Path) -> Result<SourceMap, LoadError> {
    let mut files = Vec::new();
    let meta = std::fs::metadata(path).map_err(|error| LoadError::Io {
        path: path.to_path_buf(),
        error,
    })?;
    if meta.is_dir() {
        let mut visited = HashSet::new();
        collect(path, &mut files, &mut visited)?;
    } else {
        files.push(path.to_path_buf());
    }
    if files.is_empty() {
        return Err(LoadError::Empty {
            path: path.to_path_buf(),
        });
    }
    files.sort();
    let mut sources = SourceMap::default();
    for file in files {
        let bytes = std::fs::read(&file).map_err(|error| LoadError::Io {
            path: file.clone(),
            error,
        })?;
        let text =
            String::from_utf8(bytes).map_err(|_| LoadError::NotUtf8 { path: file.clone() })?;
        sources.add(file.display().to_string(), text);
    }
    Ok(sources)
}

fn collect(
    dir: &Path,
    out: &mut Vec<PathBuf>,
    visited: &mut HashSet<PathBuf>,
) -> Result<(), LoadError> {
    let io = |error| LoadError::Io {
        path: dir.to_path_buf(),
        error,
    };
    // Symlinked directories are followed once: a loop ends here.
    let canonical = std::fs::canonicalize(dir).map_err(io)?;
    if !visited.insert(canonical) {
        return Ok(());
    }
    for entry in std::fs::read_dir(dir).map_err(io)? {
        let entry = entry.map_err(io)?;
        let name = entry.file_name();
        if name.to_string_lossy().starts_with('.') {
            continue;
        }
        let path = entry.path();
        let meta = std::fs::metadata(&path).map_err(|error| LoadError::Io {
            path: path.clone(),
            error,
        })?;
        if meta.is_dir() {
            collect(&path, out, visited)?;
        } else if path.extension().is_some_and(|e| e == "writ") {
            out.push(path);
        }
    }
    Ok(())
}
