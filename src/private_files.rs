//! Files and folders only the account running Cohorte may read: the database (it holds the
//! link-signing secret and everyone's personal data) and the `.eml` files (live sign-in
//! and password links). Files are created 0600 and folders 0700 whatever the umask, and
//! existing ones that are more open are tightened at start.
//!
//! Elsewhere than on Unix these are the plain `std::fs` calls: permissions there follow the
//! folder's access control lists, which Cohorte leaves to the administrator.

use std::fs::{self, File};
use std::io;
use std::path::Path;

/// Creates `dir` and its missing parents (owner-only on Unix), and tightens `dir` itself
/// when it already existed with group or other permissions.
pub fn create_dir(dir: &Path) -> io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)?;
    }
    #[cfg(not(unix))]
    fs::create_dir_all(dir)?;
    tighten_dir(dir)
}

/// Creates a new file (error if it exists) that only its owner may read and write.
pub fn create_new_file(path: &Path) -> io::Result<File> {
    let mut options = fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        // The umask can only remove bits: the result is 0600 or narrower.
        options.mode(0o600);
    }
    options.open(path)
}

/// Removes the group and other permissions of an existing file; a missing file is fine.
/// Logs each change.
pub fn tighten_file(path: &Path) -> io::Result<()> {
    #[cfg(unix)]
    if let Some(meta) = metadata(path)? {
        tighten(path, meta.permissions())?;
    }
    #[cfg(not(unix))]
    let _ = path;
    Ok(())
}

/// Removes the group and other permissions of an existing folder, unless it is a shared
/// one: a folder with the sticky bit (`/tmp`), the root or the working directory, whose
/// permissions other programs rely on. A missing folder is fine. Logs each change.
pub fn tighten_dir(dir: &Path) -> io::Result<()> {
    #[cfg(unix)]
    if let Some(meta) = metadata(dir)? {
        use std::os::unix::fs::PermissionsExt;
        let sticky = meta.permissions().mode() & 0o1000 != 0;
        let real = fs::canonicalize(dir)?;
        let shared = sticky
            || real.parent().is_none()
            || std::env::current_dir().is_ok_and(|cwd| cwd == real);
        if shared {
            tracing::debug!(path = %dir.display(), "shared folder: permissions left as they are");
        } else {
            tighten(dir, meta.permissions())?;
        }
    }
    #[cfg(not(unix))]
    let _ = dir;
    Ok(())
}

#[cfg(unix)]
fn metadata(path: &Path) -> io::Result<Option<fs::Metadata>> {
    match fs::metadata(path) {
        Ok(meta) => Ok(Some(meta)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

#[cfg(unix)]
fn tighten(path: &Path, permissions: fs::Permissions) -> io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let mode = permissions.mode() & 0o7777;
    // Owner bits kept as they are: tightening never makes a file writable.
    let wanted = mode & 0o700;
    if mode != wanted {
        fs::set_permissions(path, fs::Permissions::from_mode(wanted))?;
        tracing::info!(
            path = %path.display(),
            from = format!("{mode:o}"),
            to = format!("{wanted:o}"),
            "permissions tightened: readable by Cohorte's user only"
        );
    }
    Ok(())
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn mode(path: &Path) -> u32 {
        fs::metadata(path).unwrap().permissions().mode() & 0o7777
    }

    #[test]
    fn created_folders_and_files_are_owner_only() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("data").join("mail");
        create_dir(&dir).unwrap();
        assert_eq!(mode(&dir), 0o700);
        assert_eq!(mode(&tmp.path().join("data")), 0o700);
        let file = dir.join("a.eml");
        create_new_file(&file).unwrap();
        assert_eq!(mode(&file), 0o600);
        assert!(create_new_file(&file).is_err(), "never overwrites");
    }

    #[test]
    fn open_files_and_folders_are_tightened_and_closed_ones_left_alone() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("data");
        fs::create_dir(&dir).unwrap();
        fs::set_permissions(&dir, fs::Permissions::from_mode(0o755)).unwrap();
        let open = dir.join("open");
        let read_only = dir.join("read-only");
        fs::write(&open, "").unwrap();
        fs::write(&read_only, "").unwrap();
        fs::set_permissions(&open, fs::Permissions::from_mode(0o666)).unwrap();
        fs::set_permissions(&read_only, fs::Permissions::from_mode(0o400)).unwrap();

        create_dir(&dir).unwrap();
        tighten_file(&open).unwrap();
        tighten_file(&read_only).unwrap();
        tighten_file(&dir.join("missing")).unwrap();
        assert_eq!(mode(&dir), 0o700);
        assert_eq!(mode(&open), 0o600);
        assert_eq!(mode(&read_only), 0o400);
    }

    #[test]
    fn a_shared_folder_keeps_its_permissions() {
        let tmp = tempfile::tempdir().unwrap();
        let shared = tmp.path().join("shared");
        fs::create_dir(&shared).unwrap();
        fs::set_permissions(&shared, fs::Permissions::from_mode(0o1777)).unwrap();
        tighten_dir(&shared).unwrap();
        assert_eq!(mode(&shared), 0o1777);
    }
}
