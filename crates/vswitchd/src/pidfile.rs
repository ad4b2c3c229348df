//! Pid files locked the way Open vSwitch's are.
//!
//! `ovs-appctl` finds a daemon by reading `<rundir>/<target>.pid` and checks
//! with `fcntl(F_GETLK)` that the pid written there holds a POSIX write lock
//! on the whole file (lib/daemon-unix.c). So the daemon takes an `F_SETLK`
//! `F_WRLCK` lock and keeps the file open for its whole life; the lock goes
//! away with the process, even on SIGKILL.

use std::fs::{File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};

/// A pid file held locked by this process. Removing it on drop.
#[derive(Debug)]
pub struct Pidfile {
    path: PathBuf,
    _file: File,
}

fn lock_struct(kind: libc::c_short) -> libc::flock {
    // SAFETY: flock is a plain C struct; all-zero is a valid value.
    let mut lock: libc::flock = unsafe { std::mem::zeroed() };
    lock.l_type = kind;
    lock.l_whence = libc::SEEK_SET as libc::c_short;
    lock.l_start = 0;
    lock.l_len = 0;
    lock
}

impl Pidfile {
    /// Creates (or takes over a stale) pid file at `path` and locks it.
    ///
    /// Errors: `AlreadyExists` if another live process holds the lock
    /// (the message names its pid); any I/O error.
    pub fn create(path: &Path) -> io::Result<Pidfile> {
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(path)?;
        let lock = lock_struct(libc::F_WRLCK as libc::c_short);
        // SAFETY: valid fd and a pointer to a properly initialised flock.
        let rc = unsafe { libc::fcntl(file.as_raw_fd(), libc::F_SETLK, &lock) };
        if rc < 0 {
            let mut s = String::new();
            let _ = file.read_to_string(&mut s);
            return Err(io::Error::new(
                io::ErrorKind::AlreadyExists,
                format!(
                    "{}: already running as pid {}, aborting",
                    path.display(),
                    s.trim()
                ),
            ));
        }
        file.set_len(0)?;
        file.seek(SeekFrom::Start(0))?;
        writeln!(file, "{}", std::process::id())?;
        file.sync_all()?;
        Ok(Pidfile {
            path: path.to_path_buf(),
            _file: file,
        })
    }
}

impl Drop for Pidfile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// Reads the pid of the live daemon that holds the lock on `path`, as
/// `ovs-appctl` does.
///
/// Errors: `NotFound` if the file is missing; an error "No such process"
/// if the file is not locked or the locker's pid differs from the file's.
pub fn read_pidfile(path: &Path) -> io::Result<u32> {
    let mut file = OpenOptions::new().read(true).write(true).open(path)?;
    let mut s = String::new();
    file.read_to_string(&mut s)?;
    let pid: i32 = s
        .trim()
        .parse()
        .map_err(|_| io::Error::from_raw_os_error(libc::ESRCH))?;
    let mut lock = lock_struct(libc::F_WRLCK as libc::c_short);
    // SAFETY: valid fd and a pointer to a properly initialised flock.
    let rc = unsafe { libc::fcntl(file.as_raw_fd(), libc::F_GETLK, &mut lock) };
    if rc < 0 {
        return Err(io::Error::last_os_error());
    }
    if lock.l_type == libc::F_UNLCK as libc::c_short || lock.l_pid != pid {
        return Err(io::Error::from_raw_os_error(libc::ESRCH));
    }
    Ok(pid as u32)
}
