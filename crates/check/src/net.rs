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
    /// Whether any network holds the address.
    pub fn contains(&self, ip: &IpAddr) -> bool {
        self.nets.iter().any(|n| n.contains(ip))
    }
}

/// Parses one network, refusing host bits set (`10.0.0.1/8` is almost always a typo).
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
    if net.trunc() != net {
        return Err((
            format!("`{text}` has host bits set"),
            Some(format!("did you mean `{}`?", net.trunc())),
        ));
    }
    Ok(net)
}
