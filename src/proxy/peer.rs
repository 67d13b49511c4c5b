//! Who is on the other end of a loopback TCP connection: on Linux, the uid that owns the
//! client's socket, from the kernel's socket table (`/proc/net/tcp`, `/proc/net/tcp6`) for
//! the connection's exact addresses. The proxy serves only its own user: another user of
//! the machine is refused even if it holds the key.
//!
//! The table is the network namespace's: a connection forwarded by another process (`ssh
//! -L`, a container's port proxy) shows that process's owner. Elsewhere (macOS) there is no
//! such table: the loopback listener and the key are the defence.

use std::net::{IpAddr, SocketAddr};

/// The uid owning the client end of the connection from `peer` to `local`; `None` when the
/// kernel no longer lists it (the client already left) or the table cannot be read.
#[cfg(target_os = "linux")]
#[must_use]
pub fn uid(local: SocketAddr, peer: SocketAddr) -> Option<u32> {
    // An IPv4 client may hold an IPv6 socket (IPv4-mapped addresses): look in both.
    ["/proc/net/tcp", "/proc/net/tcp6"].iter().find_map(|table| {
        let text = std::fs::read_to_string(table).ok()?;
        find(&text, local, peer)
    })
}

/// Without a socket table, every peer is taken for our own user.
#[cfg(not(target_os = "linux"))]
#[must_use]
pub fn uid(_local: SocketAddr, _peer: SocketAddr) -> Option<u32> {
    Some(nix::unistd::geteuid().as_raw())
}

/// The uid of the row whose local address is the client's (`peer`) and whose remote
/// address is ours (`local`).
fn find(table: &str, local: SocketAddr, peer: SocketAddr) -> Option<u32> {
    table.lines().skip(1).find_map(|line| {
        let fields: Vec<&str> = line.split_whitespace().collect();
        let (row_local, row_remote, uid) = (fields.get(1)?, fields.get(2)?, fields.get(7)?);
        (same(row_local, peer) && same(row_remote, local)).then(|| uid.parse().ok()).flatten()
    })
}

/// Whether a table address (`0100007F:1F90`, or 32 hex digits for IPv6) is `addr`, taking
/// an IPv4-mapped IPv6 address for the IPv4 one.
fn same(field: &str, addr: SocketAddr) -> bool {
    let Some((ip, port)) = field.split_once(':') else { return false };
    if u16::from_str_radix(port, 16).ok() != Some(addr.port()) {
        return false;
    }
    let parsed = words(ip).and_then(|bytes| match bytes.len() {
        4 => <[u8; 4]>::try_from(bytes.as_slice()).ok().map(IpAddr::from),
        16 => <[u8; 16]>::try_from(bytes.as_slice()).ok().map(|b| unmapped(IpAddr::from(b))),
        _ => None,
    });
    parsed == Some(unmapped(addr.ip()))
}

/// An IPv4-mapped IPv6 address as the IPv4 address it carries.
fn unmapped(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 @ IpAddr::V4(_) => v4,
    }
}

/// The kernel prints an address as 32-bit words in the machine's byte order.
fn words(hex: &str) -> Option<Vec<u8>> {
    if !hex.len().is_multiple_of(8) || hex.is_empty() {
        return None;
    }
    hex.as_bytes()
        .chunks(8)
        .map(|chunk| {
            let word = u32::from_str_radix(std::str::from_utf8(chunk).ok()?, 16).ok()?;
            Some(word.to_ne_bytes())
        })
        .collect::<Option<Vec<[u8; 4]>>>()
        .map(|w| w.concat())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_are_matched_by_both_addresses() {
        let ours: SocketAddr = "127.0.0.1:8080".parse().unwrap();
        let client: SocketAddr = "127.0.0.1:54321".parse().unwrap();
        let word = |ip: [u8; 4]| format!("{:08X}", u32::from_ne_bytes(ip));
        let lo = word([127, 0, 0, 1]);
        let table = format!(
            "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n\
             0: {lo}:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1\n\
             1: {lo}:D431 {lo}:1F90 01 00000000:00000000 00:00000000 00000000  1000        0 2\n\
             2: {lo}:1F90 {lo}:D431 01 00000000:00000000 00:00000000 00000000     0        0 3\n"
        );
        assert_eq!(find(&table, ours, client), Some(1000));
        assert_eq!(find(&table, ours, "127.0.0.1:54322".parse().unwrap()), None);
        // An IPv4 client on an IPv6 socket (::ffff:127.0.0.1), and a ::1 one.
        let mapped: String = [[0, 0, 0, 0], [0, 0, 0, 0], [0, 0, 0xff, 0xff], [127, 0, 0, 1]]
            .into_iter()
            .map(word)
            .collect();
        let v6 = format!("header\n0: {mapped}:D431 {mapped}:1F90 01 0:0 0:0 0 65534 0 4\n");
        assert_eq!(find(&v6, ours, client), Some(65534));
        let one: String = [[0; 4], [0; 4], [0; 4], [0, 0, 0, 1]].into_iter().map(word).collect();
        let v6 = format!("header\n0: {one}:D431 {one}:1F90 01 0:0 0:0 0 42 0 4\n");
        assert_eq!(
            find(&v6, "[::1]:8080".parse().unwrap(), "[::1]:54321".parse().unwrap()),
            Some(42)
        );
        assert_eq!(find("header\ngarbage\n0: x y z\n", ours, client), None);
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn a_real_connection_is_ours() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let client = std::net::TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (accepted, peer) = listener.accept().unwrap();
        assert_eq!(peer, client.local_addr().unwrap());
        let uid = uid(accepted.local_addr().unwrap(), peer);
        assert_eq!(uid, Some(nix::unistd::geteuid().as_raw()));
    }
}
