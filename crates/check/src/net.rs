//! CIDR sets for `network.ip in ...`.

use std::net::IpAddr;

use ipnet::IpNet;

/// A set of networks, as written.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CidrSet {
    /// The networks.
    pub nets: Vec<IpNet>,
}

impl CidrSet {
    /// Whether any network holds the address, an IPv4-mapped IPv6 address being the IPv4
    /// address it carries ([`unmapped`]).
    pub fn contains(&self, ip: &IpAddr) -> bool {
        let ip = unmapped(*ip);
        self.nets.iter().any(|n| n.contains(&ip))
    }
}

/// The address as the language tests it: an IPv4-mapped IPv6 address (`::ffff:10.1.2.3`)
/// is the IPv4 address it carries; every other address is itself. The one definition the
/// compiler, the reference interpreter and the linter share.
pub fn unmapped(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

/// Parses one network, refusing host bits set (`10.0.0.1/8` is almost always a typo) and
/// IPv4-mapped IPv6 networks (never matched: mapped addresses are tested as IPv4).
pub fn parse_net(text: &str) -> Result<IpNet, (String, Option<String>)> {
    let net: IpNet = match text.parse() {
        Ok(n) => n,
        Err(_) => {
            return Err(match text.parse::<IpAddr>() {
                Ok(ip) => {
                    let bits = if ip.is_ipv4() { 32 } else { 128 };
                    (
                        format!("`{text}` is an address, not a network"),
                        Some(format!("write `{text}/{bits}` for this one address")),
                    )
                }
                Err(_) => (
                    format!("`{text}` is not a valid CIDR network"),
                    Some("write a network as `10.0.0.0/8` or `fd00::/8`".into()),
                ),
            })
        }
    };
    // An IPv4-mapped network (`::ffff:10.1.2.3/128`) could never match: a mapped address
    // is read as the IPv4 address it carries and tested against IPv4 networks.
    if let IpNet::V6(v6) = net {
        if let Some(v4) = v6.network().to_ipv4_mapped() {
            let prefix = v6.prefix_len().saturating_sub(96);
            let msg = format!("`{text}` is an IPv4-mapped network, which never matches");
            return Err(if v6.prefix_len() >= 96 {
                (
                    msg,
                    Some(format!(
                        "a mapped address is tested as the IPv4 address it carries: write `{v4}/{prefix}`"
                    )),
                )
            } else {
                (
                    msg,
                    Some("a mapped address is tested as the IPv4 address it carries: write the IPv4 network".into()),
                )
            });
        }
    }
    if net.trunc() != net {
        return Err((
            format!("`{text}` has host bits set"),
            Some(format!("did you mean `{}`?", net.trunc())),
        ));
    }
    Ok(net)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "a test")]

    use super::*;

    #[test]
    fn a_mapped_address_is_the_ipv4_address_it_carries() {
        let set = CidrSet {
            nets: vec![
                "10.0.0.0/8".parse().unwrap(),
                "2001:db8::/32".parse().unwrap(),
            ],
        };
        let mapped: IpAddr = "::ffff:10.1.2.3".parse().unwrap();
        assert_eq!(unmapped(mapped), "10.1.2.3".parse::<IpAddr>().unwrap());
        assert!(set.contains(&mapped));
        assert!(!set.contains(&"::ffff:11.1.2.3".parse().unwrap()));
        assert!(set.contains(&"2001:db8::1".parse().unwrap()));
        let plain: IpAddr = "2001:db9::1".parse().unwrap();
        assert_eq!(unmapped(plain), plain);
    }
}
