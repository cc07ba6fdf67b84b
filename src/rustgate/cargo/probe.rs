// rustgate-probe: run an answer's program for a window, call its server once, report what happened.
//
// Built by rustgate (std only, with the rustc it already needs) and run inside the sandbox, in
// the program's own network namespace: the only place its loopback server can be reached from.
// It starts the program in its own process group, watches the namespace's listening sockets
// (/proc/net/tcp, tcp6), sends one GET to each route it was given once a port listens, and ends
// the window early once the answers are in. At the end everything left of the program is killed
// (the sandbox's pid namespace takes any process that escaped the group). The report is one JSON
// line on --report-fd, a pipe only the probe holds: the program cannot write it, nor read it
// through /proc (the probe is not dumpable).
//
// With --own-pid-namespace (only ever inside the sandbox) it also counts the namespace's
// processes, stops the run the moment they pass --max-processes (a fork bomb), and at the end
// kills every process of the namespace but its init, whatever group or session it moved to.
//
// usage: rustgate-probe --window-ms N --report-fd FD [--route PATH]... [--max-processes N]
//                       [--own-pid-namespace] -- PROGRAM [ARG]...

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::os::raw::{c_int, c_ulong};
use std::os::unix::io::FromRawFd;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::process::{exit, Command};
use std::time::{Duration, Instant};

extern "C" {
    fn fcntl(fd: c_int, cmd: c_int, ...) -> c_int;
    fn prctl(option: c_int, ...) -> c_int;
    fn kill(pid: c_int, sig: c_int) -> c_int;
}

const SETTLE: Duration = Duration::from_millis(400);
const REQUEST_TIMEOUT: Duration = Duration::from_secs(3);

fn fail(what: &str) -> ! {
    eprintln!("rustgate-probe: {what}");
    exit(125)
}

fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out
}

/// Ports in LISTEN state in this network namespace, from the kernel's socket tables.
fn listening_ports() -> Vec<u16> {
    let mut ports = Vec::new();
    for table in ["/proc/net/tcp", "/proc/net/tcp6"] {
        let Ok(text) = std::fs::read_to_string(table) else { continue };
        for line in text.lines().skip(1) {
            let fields: Vec<&str> = line.split_whitespace().collect();
            if fields.len() > 3 && fields[3] == "0A" {
                if let Some(port) = fields[1].rsplit(':').next().and_then(|p| u16::from_str_radix(p, 16).ok()) {
                    if !ports.contains(&port) {
                        ports.push(port);
                    }
                }
            }
        }
    }
    ports
}

/// One GET; the status code, or what went wrong (a handler that panics drops the connection).
fn request(port: u16, path: &str) -> Result<u16, String> {
    let addrs: [SocketAddr; 2] = [([127, 0, 0, 1], port).into(), (std::net::Ipv6Addr::LOCALHOST, port).into()];
    let mut last = String::from("no address");
    for addr in addrs {
        match TcpStream::connect_timeout(&addr, REQUEST_TIMEOUT) {
            Ok(mut stream) => {
                let _ = stream.set_read_timeout(Some(REQUEST_TIMEOUT));
                let head = format!("GET {path} HTTP/1.1\r\nHost: localhost:{port}\r\nConnection: close\r\n\r\n");
                if let Err(e) = stream.write_all(head.as_bytes()) {
                    return Err(format!("write: {e}"));
                }
                let mut buf = [0u8; 256];
                let mut got = Vec::new();
                while !got.contains(&b'\n') && got.len() < 256 {
                    match stream.read(&mut buf) {
                        Ok(0) => break,
                        Ok(n) => got.extend_from_slice(&buf[..n]),
                        Err(e) => return Err(format!("read: {e}")),
                    }
                }
                let line = String::from_utf8_lossy(&got);
                let status = line.split_whitespace().nth(1).and_then(|s| s.parse::<u16>().ok());
                return status.ok_or_else(|| "the connection closed without a response".to_string());
            }
            Err(e) => last = format!("connect: {e}"),
        }
    }
    Err(last)
}

/// Live processes of this pid namespace (its own /proc; 0 where none is mounted). Zombies are
/// not counted: orphans the init never reaps hold no resources.
fn process_count() -> usize {
    let Ok(dir) = std::fs::read_dir("/proc") else { return 0 };
    dir.filter_map(Result::ok)
        .filter(|e| e.file_name().to_str().is_some_and(|n| n.bytes().all(|b| b.is_ascii_digit())))
        .filter(|e| {
            let stat = std::fs::read_to_string(e.path().join("stat")).unwrap_or_default();
            let state = stat.rsplit(')').next().and_then(|rest| rest.split_whitespace().next());
            state.is_some_and(|s| s != "Z" && s != "X")
        })
        .count()
}

/// Every process of the namespace but its init and this probe, until none is left.
fn kill_namespace() {
    for _ in 0..200 {
        unsafe { kill(-1, 9) };
        if process_count() <= 2 {
            return;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

fn main() {
    let mut args = std::env::args().skip(1);
    let (mut window_ms, mut report_fd, mut routes) = (0u64, -1, Vec::new());
    let (mut max_processes, mut own_namespace) = (0usize, false);
    let mut command = Vec::new();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--window-ms" => window_ms = args.next().and_then(|v| v.parse().ok()).unwrap_or_else(|| fail("bad --window-ms")),
            "--report-fd" => report_fd = args.next().and_then(|v| v.parse().ok()).unwrap_or_else(|| fail("bad --report-fd")),
            "--max-processes" => {
                max_processes = args.next().and_then(|v| v.parse().ok()).unwrap_or_else(|| fail("bad --max-processes"))
            }
            "--own-pid-namespace" => own_namespace = true,
            "--route" => routes.push(args.next().unwrap_or_else(|| fail("--route needs a value"))),
            "--" => {
                command = args.collect();
                break;
            }
            other => fail(&format!("unknown argument {other:?}")),
        }
    }
    if command.is_empty() || report_fd < 0 {
        fail("--report-fd and a command are required");
    }
    unsafe {
        fcntl(report_fd, 2, 1); // F_SETFD, FD_CLOEXEC: the program never holds the report pipe
        prctl(4, 0 as c_ulong, 0 as c_ulong, 0 as c_ulong, 0 as c_ulong); // PR_SET_DUMPABLE 0: nor opens it through /proc
    }
    let mut report = unsafe { std::fs::File::from_raw_fd(report_fd) };
    let started = Instant::now();
    let window = Duration::from_millis(window_ms);
    let mut child = match Command::new(&command[0]).args(&command[1..]).process_group(0).spawn() {
        Ok(child) => child,
        Err(e) => {
            let _ = writeln!(report, "{{\"spawn_error\":\"{}\"}}", escape(&e.to_string()));
            exit(0)
        }
    };
    let pid = child.id() as c_int;
    let (mut port, mut requests, mut answered_at) = (None::<u16>, Vec::<String>::new(), None::<Instant>);
    let mut status = None;
    let mut too_many = false;
    while started.elapsed() < window {
        if own_namespace && max_processes > 0 && process_count() > max_processes {
            too_many = true;
            break;
        }
        if let Ok(Some(done)) = child.try_wait() {
            status = Some(done);
            break;
        }
        if answered_at.is_none() && !routes.is_empty() {
            if let Some(&found) = listening_ports().first() {
                port = Some(found);
                for path in &routes {
                    let item = match request(found, path) {
                        Ok(code) => format!("{{\"path\":\"{}\",\"status\":{code}}}", escape(path)),
                        Err(e) => format!("{{\"path\":\"{}\",\"error\":\"{}\"}}", escape(path), escape(&e)),
                    };
                    requests.push(item);
                }
                answered_at = Some(Instant::now());
            }
        }
        if answered_at.is_some_and(|at| at.elapsed() >= SETTLE) {
            break; // the server answered (or failed to): the rest of the window adds nothing
        }
        std::thread::sleep(Duration::from_millis(25));
    }
    let running = status.is_none();
    unsafe { kill(-pid, 9) }; // the program's group, and whatever it left behind in it
    if own_namespace {
        kill_namespace();
    }
    if running {
        let _ = child.wait();
    }
    let (code, signal) = match status {
        Some(s) => (s.code().map_or("null".into(), |c| c.to_string()), s.signal().map_or("null".into(), |c| c.to_string())),
        None => ("null".into(), "null".into()),
    };
    let port = port.map_or("null".into(), |p| p.to_string());
    let _ = writeln!(
        report,
        "{{\"too_many_processes\":{too_many},\"running\":{running},\"exit\":{code},\"signal\":{signal},\"port\":{port},\"elapsed_ms\":{},\"requests\":[{}]}}",
        started.elapsed().as_millis(),
        requests.join(",")
    );
}
