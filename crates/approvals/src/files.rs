//! Files that hold secrets, written so that nobody else can read them whatever the umask:
//! a state directory is created `0700`; a new secret file (`grant.key`, `audit.key`, a
//! `writ keygen` key, `state.redb`, `audit.jsonl`) is created `0600`; a rewritten file
//! (`approvers.toml`, which may hold TOTP secrets) keeps its original mode and owner. Every
//! write goes to a temporary file in the same directory, created with its final mode
//! (never wider for a moment), fsynced, then moved into place and the directory fsynced:
//! a crash leaves the old file or the new one, never half of one.

use std::fs::{File, OpenOptions};
use std::io::Write as _;
use std::path::{Path, PathBuf};

/// The mode of a new file that holds secrets.
pub const SECRET_FILE_MODE: u32 = 0o600;
/// The mode of a new state directory.
pub const STATE_DIR_MODE: u32 = 0o700;

/// Creates `dir` (and missing parents) owner-only; an existing directory is left as it is.
pub fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt as _;
        builder.mode(STATE_DIR_MODE);
    }
    builder.create(dir)
}

/// Refuses a state directory that someone else could have put files into: one owned by
/// another user, or writable by its group or by others (a `0777` volume, a directory made
/// under `umask 000`). Whoever can write there can swap `grant.key` for a key of their own
/// and sign grants nobody approved, or roll `state.redb` back; so writ refuses to use it
/// rather than trust what is inside (`chmod 700` it, or point writ at a fresh directory).
pub fn check_private_dir(dir: &Path) -> Result<(), String> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt as _;
        let meta =
            std::fs::metadata(dir).map_err(|e| format!("cannot read `{}`: {e}", dir.display()))?;
        let me = rustix::process::geteuid().as_raw();
        if meta.uid() != me {
            return Err(format!(
                "the state directory `{}` belongs to another user (uid {}, writ runs as {me}): \
                 whoever owns it can replace its keys; use a directory of writ's own user",
                dir.display(),
                meta.uid()
            ));
        }
        let mode = meta.mode() & 0o777;
        if mode & 0o022 != 0 {
            return Err(format!(
                "the state directory `{}` is writable by other users (mode {mode:o}): whoever \
                 can write there can replace its keys and sign grants nobody approved; make it \
                 owner-only (`chmod 700`) after checking its files, or use a fresh directory",
                dir.display()
            ));
        }
    }
    Ok(())
}

/// Refuses a private key file in a state directory that another user owns or can read.
pub fn check_private_file(path: &Path) -> Result<(), String> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt as _;
        let meta = std::fs::metadata(path)
            .map_err(|e| format!("cannot read `{}`: {e}", path.display()))?;
        let me = rustix::process::geteuid().as_raw();
        if meta.uid() != me {
            return Err(format!(
                "the key file `{}` belongs to another user (uid {}, writ runs as {me}): it may \
                 not be the key writ made; refused",
                path.display(),
                meta.uid()
            ));
        }
        let mode = meta.mode() & 0o777;
        if mode & 0o077 != 0 {
            return Err(format!(
                "the key file `{}` is open to other users (mode {mode:o}): whoever can read it \
                 can sign as writ; make it owner-only (`chmod 600`) and consider the key exposed",
                path.display()
            ));
        }
    }
    Ok(())
}

/// Opens `path` for `options`, creating it with `mode` when it does not exist (the mode
/// is given at creation, so the file is never readable by others, even for a moment).
pub fn open_with_mode(options: &mut OpenOptions, path: &Path, mode: u32) -> std::io::Result<File> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(mode);
    }
    #[cfg(not(unix))]
    let _ = mode;
    options.open(path)
}

/// Creates `path` empty and owner-only when it does not exist yet (before a library that
/// would create it with the umask's mode opens it: redb's `state.redb`).
pub fn precreate_secret(path: &Path) -> std::io::Result<()> {
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    match open_with_mode(&mut options, path, SECRET_FILE_MODE) {
        Ok(file) => {
            file.sync_all()?;
            sync_parent(path)
        }
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(e),
    }
}

fn parent_of(path: &Path) -> PathBuf {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// Fsyncs the directory holding `path`, so a rename or a new file survives a crash.
pub fn sync_parent(path: &Path) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        File::open(parent_of(path))?.sync_all()?;
    }
    #[cfg(not(unix))]
    let _ = path;
    Ok(())
}

/// A fresh temporary file beside `path`, created (exclusively: never an existing file or
/// a planted link) with `mode`.
fn temporary(path: &Path, mode: u32) -> std::io::Result<(PathBuf, File)> {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mut last = None;
    for _ in 0..8 {
        let suffix = crate::encode::new_id("").map_err(|e| std::io::Error::other(e.to_string()))?;
        let tmp = parent_of(path).join(format!(".{name}.{suffix}.tmp"));
        let mut options = OpenOptions::new();
        options.write(true).create_new(true);
        match open_with_mode(&mut options, &tmp, mode) {
            Ok(f) => return Ok((tmp, f)),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => last = Some(e),
            Err(e) => return Err(e),
        }
    }
    Err(last.unwrap_or_else(|| std::io::Error::other("no temporary name was free")))
}

/// Writes `bytes` to a temporary file with `mode` (and, on Unix, `owner` as uid/gid when
/// given), fsyncs it, and hands its path to `place` to put it in place; the temporary
/// file is removed when anything fails.
fn write_via_temporary(
    path: &Path,
    bytes: &[u8],
    mode: u32,
    owner: Option<(u32, u32)>,
    place: impl FnOnce(&Path) -> std::io::Result<()>,
) -> std::io::Result<()> {
    let (tmp, mut file) = temporary(path, mode)?;
    let written = (|| {
        #[cfg(unix)]
        if let Some((uid, gid)) = owner {
            // Keep the owner when we may (root rewriting someone's file); a plain user
            // cannot give a file away, and the file is theirs anyway.
            match std::os::unix::fs::fchown(&file, Some(uid), Some(gid)) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied => {}
                Err(e) => return Err(e),
            }
        }
        #[cfg(not(unix))]
        let _ = owner;
        // The mode asked for at creation is cut by the umask; set it exactly.
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            file.set_permissions(std::fs::Permissions::from_mode(mode))?;
        }
        file.write_all(bytes)?;
        file.sync_all()?;
        place(&tmp)?;
        sync_parent(path)
    })();
    if written.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    written
}

/// Writes a new secret file: `0600`, fully written and fsynced before it appears under
/// its name; refuses (`AlreadyExists`) to replace an existing file, so two processes
/// creating it at once both end up with the first one's.
pub fn write_new_secret(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    write_via_temporary(path, bytes, SECRET_FILE_MODE, None, |tmp| {
        // A hard link fails when the name exists: creation without overwriting.
        let linked = std::fs::hard_link(tmp, path);
        std::fs::remove_file(tmp)?;
        linked
    })
}

/// Replaces `path` with `bytes`, keeping the original file's mode and owner (a new file
/// gets `0600`).
pub fn rewrite(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let (mode, owner) = match std::fs::metadata(path) {
        #[cfg(unix)]
        Ok(m) => {
            use std::os::unix::fs::MetadataExt as _;
            (m.mode() & 0o7777, Some((m.uid(), m.gid())))
        }
        #[cfg(not(unix))]
        Ok(_) => (SECRET_FILE_MODE, None),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => (SECRET_FILE_MODE, None),
        Err(e) => return Err(e),
    };
    write_via_temporary(path, bytes, mode, owner, |tmp| std::fs::rename(tmp, path))
}
