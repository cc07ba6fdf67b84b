// rustgate-isolate: run one command with none of the host visible but what it is given.
//
// Built by rustgate (with the rustc it already needs) the first time a sample is compiled without
// bubblewrap. It uses what a stock Linux kernel has: user, mount, pid, network, ipc and uts
// namespaces. The command sees a fresh read-only root holding only the --ro and --rw paths, a
// private /proc (its own pid namespace), a minimal /dev, a small /tmp, no network but its own
// loopback, and runs as an
// unprivileged user with no capabilities and no_new_privs. Every failure before the command
// starts exits 125 with a line starting "rustgate-isolate:" (an infrastructure error for rustgate).
//
// usage: rustgate-isolate --root DIR [--ro PATH]... [--rw PATH]... [--symlink TARGET LINK]...
//                         [--tmp-mb N] [--timeout-s N] [--host-uid N] --chdir DIR -- COMMAND [ARG]...
//
// --host-uid N (honoured when started by root): the command runs as host uid and gid N instead
// of root's. Root is exempt from RLIMIT_NPROC, so this is what lets a process limit hold for a
// program run as root's; N owns nothing on the host, so the command can read only what is
// world-readable in its view, and a fresh N per run gives each run its own process count.
//
// Nothing outlives it: the launcher dies with the process that started it (parent-death signal),
// and after --timeout-s seconds of its own clock (SIGALRM); the sandbox's init dies with the
// launcher, and with the init the kernel kills every process of the pid namespace.

use std::ffi::{CString, OsStr};
use std::os::raw::{c_char, c_int, c_long, c_ulong, c_void};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{exit, Command};

extern "C" {
    fn unshare(flags: c_int) -> c_int;
    fn mount(src: *const c_char, target: *const c_char, fstype: *const c_char, flags: c_ulong, data: *const c_void) -> c_int;
    fn umount2(target: *const c_char, flags: c_int) -> c_int;
    fn syscall(number: c_long, ...) -> c_long;
    fn prctl(option: c_int, ...) -> c_int;
    fn fork() -> c_int;
    fn waitpid(pid: c_int, status: *mut c_int, options: c_int) -> c_int;
    fn getuid() -> u32;
    fn getgid() -> u32;
    fn kill(pid: c_int, sig: c_int) -> c_int;
    fn getpid() -> c_int;
    fn signal(sig: c_int, handler: usize) -> usize;
    fn getppid() -> c_int;
    fn alarm(seconds: u32) -> u32;
    fn socket(domain: c_int, kind: c_int, protocol: c_int) -> c_int;
    fn ioctl(fd: c_int, request: c_ulong, ...) -> c_int;
    fn close(fd: c_int) -> c_int;
    fn pipe(fds: *mut c_int) -> c_int;
    fn read(fd: c_int, buf: *mut c_void, count: usize) -> isize;
    fn write(fd: c_int, buf: *const c_void, count: usize) -> isize;
    fn setgroups(size: usize, list: *const u32) -> c_int;
    fn setresgid(r: u32, e: u32, s: u32) -> c_int;
    fn setresuid(r: u32, e: u32, s: u32) -> c_int;
}

const CLONE_NEWNS: c_int = 0x0002_0000;
const CLONE_NEWUTS: c_int = 0x0400_0000;
const CLONE_NEWIPC: c_int = 0x0800_0000;
const CLONE_NEWUSER: c_int = 0x1000_0000;
const CLONE_NEWPID: c_int = 0x2000_0000;
const CLONE_NEWNET: c_int = 0x4000_0000;
const MS_RDONLY: c_ulong = 1;
const MS_NOSUID: c_ulong = 2;
const MS_NODEV: c_ulong = 4;
const MS_NOEXEC: c_ulong = 8;
const MS_REMOUNT: c_ulong = 32;
const MS_BIND: c_ulong = 4096;
const MS_REC: c_ulong = 16384;
const MS_PRIVATE: c_ulong = 1 << 18;
const MNT_DETACH: c_int = 2;
const PR_SET_PDEATHSIG: c_int = 1;
const PR_SET_NO_NEW_PRIVS: c_int = 38;
const SIGKILL: c_int = 9;
const SANDBOX_UID: u32 = 1000;
#[cfg(target_arch = "x86_64")]
const SYS_PIVOT_ROOT: c_long = 155;
#[cfg(target_arch = "aarch64")]
const SYS_PIVOT_ROOT: c_long = 41;

fn die(what: &str) -> ! {
    let err = std::io::Error::last_os_error();
    eprintln!("rustgate-isolate: {what}: {err}");
    exit(125)
}

fn usage(what: &str) -> ! {
    eprintln!("rustgate-isolate: {what}");
    exit(125)
}

fn cstr(path: &Path) -> CString {
    CString::new(path.as_os_str().as_bytes()).unwrap_or_else(|_| usage("a path holds a NUL byte"))
}

fn do_mount(src: Option<&Path>, target: &Path, fstype: Option<&str>, flags: c_ulong, data: Option<&str>) {
    let src_c = src.map(cstr);
    let target_c = cstr(target);
    let fs_c = fstype.map(|f| CString::new(f).unwrap());
    let data_c = data.map(|d| CString::new(d).unwrap());
    let rc = unsafe {
        mount(
            src_c.as_ref().map_or(std::ptr::null(), |s| s.as_ptr()),
            target_c.as_ptr(),
            fs_c.as_ref().map_or(std::ptr::null(), |s| s.as_ptr()),
            flags,
            data_c.as_ref().map_or(std::ptr::null(), |s| s.as_ptr() as *const c_void),
        )
    };
    if rc != 0 {
        die(&format!("mount {} on {}", src.map_or("-".into(), |s| s.display().to_string()), target.display()));
    }
}

/// The mount point inside the new root for host path `path`, created as a file or a folder.
fn mount_point(root: &Path, path: &Path, is_dir: bool) -> PathBuf {
    let inside = root.join(path.strip_prefix("/").unwrap_or(path));
    if is_dir {
        std::fs::create_dir_all(&inside).unwrap_or_else(|_| die(&format!("mkdir {}", inside.display())));
    } else {
        if let Some(parent) = inside.parent() {
            std::fs::create_dir_all(parent).unwrap_or_else(|_| die(&format!("mkdir {}", parent.display())));
        }
        std::fs::write(&inside, b"").unwrap_or_else(|_| die(&format!("create {}", inside.display())));
    }
    inside
}

fn bind(root: &Path, host: &Path, writable: bool) {
    let meta = std::fs::metadata(host).unwrap_or_else(|_| die(&format!("stat {}", host.display())));
    let inside = mount_point(root, host, meta.is_dir());
    do_mount(Some(host), &inside, None, MS_BIND | MS_REC, None);
    let mut flags = MS_BIND | MS_REMOUNT | MS_NOSUID | MS_NODEV;
    if !writable {
        flags |= MS_RDONLY;
    }
    do_mount(None, &inside, None, flags, None);
}

struct Spec {
    root: PathBuf,
    read_only: Vec<PathBuf>,
    writable: Vec<PathBuf>,
    symlinks: Vec<(PathBuf, PathBuf)>,
    tmp_mb: u64,
    timeout_s: u32,
    host_uid: Option<u32>,
    chdir: PathBuf,
    command: Vec<std::ffi::OsString>,
}

fn parse() -> Spec {
    let mut args = std::env::args_os().skip(1);
    let mut spec = Spec {
        root: PathBuf::new(),
        read_only: Vec::new(),
        writable: Vec::new(),
        symlinks: Vec::new(),
        tmp_mb: 64,
        timeout_s: 0,
        host_uid: None,
        chdir: PathBuf::from("/"),
        command: Vec::new(),
    };
    let next = |what: &str, args: &mut dyn Iterator<Item = std::ffi::OsString>| {
        args.next().unwrap_or_else(|| usage(&format!("{what} needs a value")))
    };
    while let Some(arg) = args.next() {
        match arg.to_str().unwrap_or("") {
            "--root" => spec.root = PathBuf::from(next("--root", &mut args)),
            "--ro" => spec.read_only.push(PathBuf::from(next("--ro", &mut args))),
            "--rw" => spec.writable.push(PathBuf::from(next("--rw", &mut args))),
            "--symlink" => {
                let target = PathBuf::from(next("--symlink", &mut args));
                spec.symlinks.push((target, PathBuf::from(next("--symlink", &mut args))));
            }
            "--tmp-mb" => {
                let value = next("--tmp-mb", &mut args);
                spec.tmp_mb = value.to_str().and_then(|v| v.parse().ok()).unwrap_or_else(|| usage("bad --tmp-mb"));
            }
            "--timeout-s" => {
                let value = next("--timeout-s", &mut args);
                spec.timeout_s =
                    value.to_str().and_then(|v| v.parse().ok()).unwrap_or_else(|| usage("bad --timeout-s"));
            }
            "--host-uid" => {
                let value = next("--host-uid", &mut args);
                spec.host_uid = Some(value.to_str().and_then(|v| v.parse().ok()).unwrap_or_else(|| usage("bad --host-uid")));
            }
            "--chdir" => spec.chdir = PathBuf::from(next("--chdir", &mut args)),
            "--" => {
                spec.command = args.collect();
                break;
            }
            other => usage(&format!("unknown argument {other:?}")),
        }
    }
    if spec.root.as_os_str().is_empty() || spec.command.is_empty() {
        usage("--root and a command are required");
    }
    spec
}

fn write_id_maps(uid: u32, gid: u32) {
    let write = |file: &str, text: String| {
        std::fs::write(file, text).unwrap_or_else(|_| die(&format!("write {file}")));
    };
    write("/proc/self/setgroups", "deny".into());
    write("/proc/self/uid_map", format!("{SANDBOX_UID} {uid} 1"));
    write("/proc/self/gid_map", format!("{SANDBOX_UID} {gid} 1"));
}

/// Wait for the sandbox's init and leave the way it left: same exit code, or the same signal.
fn relay(child: c_int) -> ! {
    let mut status: c_int = 0;
    loop {
        let rc = unsafe { waitpid(child, &mut status, 0) };
        if rc == child {
            break;
        }
        if std::io::Error::last_os_error().raw_os_error() != Some(4) {
            die("waitpid");
        }
    }
    let sig = status & 0x7f;
    if sig == 0 {
        exit((status >> 8) & 0xff);
    }
    unsafe {
        signal(sig, 0);
        kill(getpid(), sig); // the namespace's init cannot die of its own signal: then the exit code says it
    }
    exit(128 + sig)
}

#[repr(C)]
struct InterfaceFlags {
    name: [u8; 16],
    flags: i16,
    _rest: [u8; 22],
}

/// The namespace's own loopback, up: a program may serve and call itself on 127.0.0.1, and
/// reach nothing else (the host's loopback is another namespace's). Ports below 1024 are opened
/// to the sandbox's user, as they are to a server's root elsewhere; only this namespace has them.
fn loopback_up() {
    const SIOCGIFFLAGS: c_ulong = 0x8913;
    const SIOCSIFFLAGS: c_ulong = 0x8914;
    const IFF_UP: i16 = 0x1;
    const IFF_RUNNING: i16 = 0x40;
    let fd = unsafe { socket(2, 2, 0) }; // AF_INET, SOCK_DGRAM
    if fd < 0 {
        die("socket (loopback)");
    }
    let mut request = InterfaceFlags { name: [0; 16], flags: 0, _rest: [0; 22] };
    request.name[..2].copy_from_slice(b"lo");
    if unsafe { ioctl(fd, SIOCGIFFLAGS, &mut request as *mut InterfaceFlags) } != 0 {
        die("read the loopback's flags");
    }
    request.flags |= IFF_UP | IFF_RUNNING;
    if unsafe { ioctl(fd, SIOCSIFFLAGS, &mut request as *mut InterfaceFlags) } != 0 {
        die("bring the loopback up");
    }
    unsafe { close(fd) };
    let _ = std::fs::write("/proc/sys/net/ipv4/ip_unprivileged_port_start", b"0");
}

fn build_root(spec: &Spec) {
    let root = spec.root.as_path();
    do_mount(None, Path::new("/"), None, MS_REC | MS_PRIVATE, None);
    do_mount(Some(Path::new("tmpfs")), root, Some("tmpfs"), MS_NOSUID | MS_NODEV, Some("size=1m,mode=0755"));
    // /dev and /tmp first: a bound path may live under /tmp (the sample's folder usually does).
    let dev = mount_point(root, Path::new("/dev"), true);
    do_mount(Some(Path::new("tmpfs")), &dev, Some("tmpfs"), MS_NOSUID | MS_NOEXEC, Some("size=64k,mode=0755"));
    for name in ["null", "zero", "full", "random", "urandom"] {
        let host = Path::new("/dev").join(name);
        if host.exists() {
            let inside = mount_point(root, &host, false);
            do_mount(Some(&host), &inside, None, MS_BIND, None);
        }
    }
    let tmp = mount_point(root, Path::new("/tmp"), true);
    let size = format!("size={}m,mode=1777", spec.tmp_mb);
    do_mount(Some(Path::new("tmpfs")), &tmp, Some("tmpfs"), MS_NOSUID | MS_NODEV, Some(&size));
    for path in &spec.read_only {
        bind(root, path, false);
    }
    for path in &spec.writable {
        bind(root, path, true);
    }
    for (target, link) in &spec.symlinks {
        let inside = root.join(link.strip_prefix("/").unwrap_or(link));
        std::os::unix::fs::symlink(target, &inside).unwrap_or_else(|_| die(&format!("symlink {}", inside.display())));
    }
    let proc_dir = mount_point(root, Path::new("/proc"), true);
    // A private /proc shows only this sandbox's processes; where the kernel refuses it (some
    // containers), the folder stays empty and rustc is given --sysroot instead.
    let proc_c = cstr(&proc_dir);
    let proc_fs = CString::new("proc").unwrap();
    unsafe {
        mount(proc_fs.as_ptr(), proc_c.as_ptr(), proc_fs.as_ptr(), MS_NOSUID | MS_NODEV | MS_NOEXEC, std::ptr::null());
    }
    let old = mount_point(root, Path::new("/.old-root"), true);
    let (root_c, old_c) = (cstr(root), cstr(&old));
    if unsafe { syscall(SYS_PIVOT_ROOT, root_c.as_ptr(), old_c.as_ptr()) } != 0 {
        die("pivot_root");
    }
    std::env::set_current_dir("/").unwrap_or_else(|_| die("chdir /"));
    let old_inside = CString::new("/.old-root").unwrap();
    if unsafe { umount2(old_inside.as_ptr(), MNT_DETACH) } != 0 {
        die("umount the old root");
    }
    let _ = std::fs::remove_dir("/.old-root");
    do_mount(None, Path::new("/"), None, MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV, Some("size=1m,mode=0755"));
}

fn close_fd(fd: c_int) {
    unsafe { close(fd) };
}

/// As root: a child makes the namespaces, this process (still outside, with CAP_SETUID) maps the
/// sandbox's uid 1000 to host uid `host` (and 0 to root, for the sandbox's own setup only), then
/// waits for it. Returns in the child, inside the namespaces; never in the parent.
fn enter_as(host: u32, spec: &Spec, flags: c_int) {
    let (mut ready, mut go) = ([0 as c_int; 2], [0 as c_int; 2]);
    if unsafe { pipe(ready.as_mut_ptr()) } != 0 || unsafe { pipe(go.as_mut_ptr()) } != 0 {
        die("pipe");
    }
    let child = unsafe { fork() };
    if child < 0 {
        die("fork");
    }
    let mut byte = [0u8; 1];
    if child > 0 {
        close_fd(ready[1]);
        close_fd(go[0]);
        if unsafe { read(ready[0], byte.as_mut_ptr() as *mut c_void, 1) } != 1 {
            usage("the sandbox's first process ended before its namespaces were made");
        }
        let map = format!("0 0 1\n{SANDBOX_UID} {host} 1");
        for file in ["uid_map", "gid_map"] {
            let path = format!("/proc/{child}/{file}");
            std::fs::write(&path, &map).unwrap_or_else(|_| die(&format!("write {path}")));
        }
        if unsafe { write(go[1], b"1".as_ptr() as *const c_void, 1) } != 1 {
            die("signal the sandbox's first process");
        }
        if spec.timeout_s > 0 {
            unsafe { alarm(spec.timeout_s) };
        }
        relay(child);
    }
    if unsafe { prctl(PR_SET_PDEATHSIG, SIGKILL as c_ulong, 0 as c_ulong, 0 as c_ulong, 0 as c_ulong) } != 0 {
        die("prctl(PDEATHSIG)");
    }
    close_fd(ready[0]);
    close_fd(go[1]);
    if unsafe { unshare(flags) } != 0 {
        die("unshare (user namespaces unavailable?)");
    }
    if unsafe { write(ready[1], b"1".as_ptr() as *const c_void, 1) } != 1 {
        die("signal the launcher");
    }
    if unsafe { read(go[0], byte.as_mut_ptr() as *mut c_void, 1) } != 1 {
        usage("the launcher did not map the sandbox's user");
    }
    close_fd(ready[1]);
    close_fd(go[0]);
}

/// The command's own identity: uid and gid 1000 of the namespace (host `--host-uid`), no groups.
fn become_sandbox_user() {
    let id = SANDBOX_UID;
    if unsafe { setgroups(0, std::ptr::null()) } != 0 || unsafe { setresgid(id, id, id) } != 0 {
        die("setgid");
    }
    if unsafe { setresuid(id, id, id) } != 0 {
        die("setuid");
    }
}

fn main() {
    // Die with whoever started us (kill -9 of rustgate included); if it is already gone, stop.
    let parent = unsafe { getppid() };
    if unsafe { prctl(PR_SET_PDEATHSIG, SIGKILL as c_ulong, 0 as c_ulong, 0 as c_ulong, 0 as c_ulong) } != 0 {
        die("prctl(PDEATHSIG)");
    }
    if unsafe { getppid() } != parent {
        usage("the process that started the sandbox is gone");
    }
    let spec = parse();
    let (uid, gid) = unsafe { (getuid(), getgid()) };
    let flags = CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWUTS;
    let remapped = match spec.host_uid {
        Some(host) if uid == 0 => {
            enter_as(host, &spec, flags);
            true
        }
        _ => {
            if unsafe { unshare(flags) } != 0 {
                die("unshare (user namespaces unavailable?)");
            }
            write_id_maps(uid, gid);
            false
        }
    };
    loopback_up();
    let child = unsafe { fork() };
    if child < 0 {
        die("fork");
    }
    if child > 0 {
        if spec.timeout_s > 0 {
            unsafe { alarm(spec.timeout_s) }; // SIGALRM ends this process, and the init with it
        }
        relay(child);
    }
    // The sandbox's init: dies with its parent, builds the root, becomes the command.
    if unsafe { prctl(PR_SET_PDEATHSIG, SIGKILL as c_ulong, 0 as c_ulong, 0 as c_ulong, 0 as c_ulong) } != 0 {
        die("prctl(PDEATHSIG)");
    }
    build_root(&spec);
    std::env::set_current_dir(&spec.chdir).unwrap_or_else(|_| die(&format!("chdir {}", spec.chdir.display())));
    if unsafe { prctl(PR_SET_NO_NEW_PRIVS, 1 as c_ulong, 0 as c_ulong, 0 as c_ulong, 0 as c_ulong) } != 0 {
        die("prctl(NO_NEW_PRIVS)");
    }
    // The namespace's init stays a plain waiter: a command running as pid 1 would ignore the
    // signals the kernel sends it (SIGXFSZ past the file-size limit, SIGSEGV ...), unlike anywhere else.
    let command = unsafe { fork() };
    if command < 0 {
        die("fork");
    }
    if command > 0 {
        relay(command);
    }
    if remapped {
        become_sandbox_user();
    }
    // uid 1000 in the namespace: execve drops every capability the namespace gave us.
    let program: &OsStr = &spec.command[0];
    let err = Command::new(program).args(&spec.command[1..]).exec();
    eprintln!("rustgate-isolate: exec {}: {err}", Path::new(program).display());
    exit(125)
}
