//! Which replica processes listen on an address other machines can reach. Replicas are told
//! `HOST=127.0.0.1`; an app that ignores it and binds `0.0.0.0` is reachable around the TLS load
//! balancer, so it is reported (never silently allowed). Read from `/proc`: the listening sockets of
//! `/proc/net/tcp{,6}` matched by inode with the open files of every process in the replicas' groups.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

/// Every TCP address a process of the groups `groups` listens on.
pub fn listening(groups: &[i32]) -> Vec<SocketAddr> {
    sockets_of(groups).into_keys().collect()
}

/// Listening sockets of the groups' processes, with the processes holding each.
fn sockets_of(groups: &[i32]) -> BTreeMap<SocketAddr, BTreeSet<i32>> {
    let listening = listening_sockets();
    let mut found: BTreeMap<SocketAddr, BTreeSet<i32>> = BTreeMap::new();
    for pid in crate::procfs::processes_in(groups) {
        let Ok(fds) = std::fs::read_dir(format!("/proc/{pid}/fd")) else { continue };
        for fd in fds.flatten() {
            let Ok(target) = std::fs::read_link(fd.path()) else { continue };
            let target = target.to_string_lossy();
            let Some(inode) = target.strip_prefix("socket:[").and_then(|t| t.strip_suffix(']')) else { continue };
            if let Some(address) = listening.get(inode) {
                found.entry(*address).or_default().insert(pid);
            }
        }
    }
    found
}

/// `address (pid N)` (or `(pids N, M)` where a server's processes share it) for every non-loopback
/// listening socket held by a process of the process groups `groups`; empty when there is none or
/// `/proc` cannot be read.
pub fn public_listeners(groups: &[i32]) -> Vec<String> {
    if groups.is_empty() {
        return Vec::new();
    }
    sockets_of(groups)
        .into_iter()
        .filter(|(address, _)| !address.ip().is_loopback())
        .map(|(address, pids)| {
            let pids: Vec<String> = pids.iter().map(ToString::to_string).collect();
            let label = if pids.len() == 1 { "pid" } else { "pids" };
            format!("{address} ({label} {})", pids.join(", "))
        })
        .collect()
}

/// Listening TCP sockets by inode.
fn listening_sockets() -> HashMap<String, SocketAddr> {
    let mut out = HashMap::new();
    for (file, v6) in [("/proc/net/tcp", false), ("/proc/net/tcp6", true)] {
        let Ok(text) = std::fs::read_to_string(file) else { continue };
        for line in text.lines().skip(1) {
            let fields: Vec<&str> = line.split_whitespace().collect();
            // sl local_address rem_address st tx_queue:rx_queue tr:tm->when retrnsmt uid timeout inode
            let (Some(local), Some(state), Some(inode)) = (fields.get(1), fields.get(3), fields.get(9)) else {
                continue;
            };
            if *state != "0A" {
                continue;
            }
            if let Some(address) = parse_address(local, v6) {
                out.insert((*inode).to_string(), address);
            }
        }
    }
    out
}

/// `0100007F:1F90` (IPv4) or 32 hex digits and a port (IPv6), as the kernel writes them: each 32-bit
/// word in host byte order.
fn parse_address(text: &str, v6: bool) -> Option<SocketAddr> {
    let (ip, port) = text.split_once(':')?;
    let port = u16::from_str_radix(port, 16).ok()?;
    let words: Vec<u32> = (0..ip.len() / 8)
        .map(|i| u32::from_str_radix(&ip[i * 8..i * 8 + 8], 16).map(u32::from_be))
        .collect::<Result<_, _>>()
        .ok()?;
    let ip = match (v6, words.as_slice()) {
        (false, [word]) => IpAddr::V4(Ipv4Addr::from(word.to_be_bytes())),
        (true, [a, b, c, d]) => {
            let mut bytes = [0u8; 16];
            for (i, word) in [a, b, c, d].into_iter().enumerate() {
                bytes[i * 4..i * 4 + 4].copy_from_slice(&word.to_be_bytes());
            }
            let v6 = Ipv6Addr::from(bytes);
            v6.to_ipv4_mapped().map_or(IpAddr::V6(v6), IpAddr::V4)
        }
        _ => return None,
    };
    Some(SocketAddr::new(ip, port))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kernel_addresses_parse_in_both_families() {
        assert_eq!(parse_address("0100007F:1F90", false), Some("127.0.0.1:8080".parse().unwrap()));
        assert_eq!(parse_address("00000000:1F90", false), Some("0.0.0.0:8080".parse().unwrap()));
        assert_eq!(parse_address("00000000000000000000000001000000:0050", true), Some("[::1]:80".parse().unwrap()));
        assert_eq!(parse_address("00000000000000000000000000000000:0050", true), Some("[::]:80".parse().unwrap()));
    }

    #[test]
    fn a_process_listening_on_every_interface_is_found_and_one_on_loopback_is_not() {
        use std::os::unix::process::CommandExt;
        let spawn = |host: &str| {
            let code = format!(
                "import socket,time; s=socket.socket(); s.bind(('{host}',0)); s.listen(); print(s.getsockname()[1], flush=True); time.sleep(30)"
            );
            let mut child = std::process::Command::new("python3")
                .args(["-c", &code])
                .stdout(std::process::Stdio::piped())
                .process_group(0)
                .spawn()
                .expect("python3");
            let mut line = String::new();
            std::io::BufRead::read_line(&mut std::io::BufReader::new(child.stdout.take().unwrap()), &mut line).unwrap();
            (child, line.trim().parse::<u16>().unwrap())
        };
        let (mut open, open_port) = spawn("0.0.0.0");
        let (mut closed, _) = spawn("127.0.0.1");
        let groups = [open.id() as i32, closed.id() as i32];
        let found = public_listeners(&groups);
        let _ = (open.kill(), closed.kill(), open.wait(), closed.wait());
        assert_eq!(found, [format!("0.0.0.0:{open_port} (pid {})", groups[0])]);
    }
}
