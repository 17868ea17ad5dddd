//! Where the client talks to and with what: the base URL, the API token, the share of Workato's
//! rate limits it may use, and its retry policy (docs/commands.md).
//!
//! Everything is read through a lookup closure instead of `std::env`, so that tests can hand in
//! any environment without touching the process's own.

use std::fmt;
use std::time::Duration;

use reqwest::header::HeaderValue;

use super::error::ConfigError;
use super::retry::RetryPolicy;
use crate::env;
use crate::redact::Secrets;

/// The Workato data centers and their API base URLs (docs/workato-api.md).
pub const REGIONS: &[(&str, &str)] = &[
    ("us", "https://www.workato.com/api"),
    ("eu", "https://app.eu.workato.com/api"),
    ("jp", "https://app.jp.workato.com/api"),
    ("sg", "https://app.sg.workato.com/api"),
    ("au", "https://app.au.workato.com/api"),
    ("il", "https://app.il.workato.com/api"),
    ("cn", "https://app.workatoapp.cn/api"),
];

/// The region used when neither the file nor the environment names one.
pub const DEFAULT_REGION: &str = "us";

/// Workato answers within 40 s or gives up (https://docs.workato.com/oem/oem-api/limits.html);
/// one attempt of a request waits a little longer, its answer's body included, so that Workato's
/// own timeout, not ours, decides.
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(60);

/// No request is tried again once this long has passed since its first attempt, waits between
/// attempts included: a server that accepts and then trickles its answer costs at most this.
pub const DEFAULT_REQUEST_DEADLINE: Duration = Duration::from_secs(180);

/// The largest answer body read; a larger one is an error, found out without reading it whole.
pub const MAX_BODY_BYTES: usize = 32 * 1024 * 1024;

/// A Workato API client token. It prints as `***` in every format, so that no `Debug` of a
/// config, a client or an error can leak it.
#[derive(Clone, PartialEq, Eq)]
pub struct ApiToken(String);

impl ApiToken {
    /// Wraps a token (surrounding whitespace, such as a trailing newline, is dropped).
    pub fn new(token: impl Into<String>) -> Self {
        Self(token.into().trim().to_owned())
    }

    /// The token itself, for the set of values to redact (never to print).
    pub(crate) fn value(&self) -> &str {
        &self.0
    }

    /// The `Authorization` header value, marked sensitive so that `http`'s own `Debug` hides it.
    pub(crate) fn header_value(&self) -> Result<HeaderValue, ConfigError> {
        let mut value = HeaderValue::from_str(&format!("Bearer {}", self.0))
            .map_err(|_| ConfigError::TokenNotHeaderSafe)?;
        value.set_sensitive(true);
        Ok(value)
    }
}

impl fmt::Debug for ApiToken {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("***")
    }
}

impl fmt::Display for ApiToken {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("***")
    }
}

/// Everything a `Client` needs.
#[derive(Clone, Debug)]
pub struct ClientConfig {
    /// The API base URL, without a trailing slash and ending in `/api`.
    pub base_url: String,
    /// The bearer token.
    pub token: ApiToken,
    /// The secret values of the run, redacted from every text Workato sends back; the client adds
    /// the token to them.
    pub secrets: Secrets,
    /// The share (0 < x ≤ 1) of each Workato limit the client may use (`EMBEDCTL_RATE_SHARE`).
    pub rate_share: f64,
    /// Divides every rate-limit window (`EMBEDCTL_TIME_SCALE`; testing only, default 1).
    pub time_scale: f64,
    /// How failed requests are retried.
    pub retry: RetryPolicy,
    /// How long one attempt of a request may take, the answer's body included.
    pub request_timeout: Duration,
    /// How long a request may be tried for in all, from its first attempt.
    pub request_deadline: Duration,
    /// The largest answer body read.
    pub max_body_bytes: usize,
}

impl ClientConfig {
    /// A config for `base_url` with the defaults: the whole of every limit, real windows, the
    /// standard retry policy. Used by `--sim`, which points the client at a loopback simulator.
    pub fn new(base_url: &str, token: ApiToken) -> Result<Self, ConfigError> {
        check_token(&token)?;
        Ok(Self {
            base_url: normalize_base_url(base_url, "the base URL")?,
            token,
            secrets: Secrets::new(),
            rate_share: 1.0,
            time_scale: 1.0,
            retry: RetryPolicy::standard(),
            request_timeout: DEFAULT_REQUEST_TIMEOUT,
            request_deadline: DEFAULT_REQUEST_DEADLINE,
            max_body_bytes: MAX_BODY_BYTES,
        })
    }

    /// The config of a real run with the environment read by `lookup` (`env::Settings::read`).
    pub fn from_env(
        region: Option<&str>,
        file_base_url: Option<&str>,
        lookup: impl Fn(&str) -> Option<String>,
    ) -> Result<Self, ConfigError> {
        Self::from_settings(region, file_base_url, &env::Settings::read(lookup)?)
    }

    /// The config of a real run: the base URL from `WORKATO_BASE_URL`, else the file's
    /// `workato.base_url`, else the file's `workato.region` (default `us`); the token from
    /// `WORKATO_API_TOKEN`; `EMBEDCTL_RATE_SHARE` and `EMBEDCTL_TIME_SCALE` when set.
    pub fn from_settings(
        region: Option<&str>,
        file_base_url: Option<&str>,
        settings: &env::Settings,
    ) -> Result<Self, ConfigError> {
        let base_url = match (&settings.base_url, file_base_url) {
            (Some(url), _) => normalize_base_url(url, "`WORKATO_BASE_URL`")?,
            (None, Some(url)) => normalize_base_url(url, "`workato.base_url`")?,
            (None, None) => region_base_url(region.unwrap_or(DEFAULT_REGION))?.to_owned(),
        };
        let token = settings
            .api_token
            .clone()
            .ok_or(ConfigError::MissingToken)?;
        check_token(&token)?;
        let time_scale = settings.time_scale.unwrap_or(1.0);
        Ok(Self {
            base_url,
            token,
            secrets: Secrets::new(),
            rate_share: settings.rate_share,
            time_scale,
            // Backoff is measured in Workato's time too, like the windows.
            retry: RetryPolicy::standard().scaled(time_scale),
            request_timeout: DEFAULT_REQUEST_TIMEOUT,
            request_deadline: DEFAULT_REQUEST_DEADLINE,
            max_body_bytes: MAX_BODY_BYTES,
        })
    }
}

fn check_token(token: &ApiToken) -> Result<(), ConfigError> {
    if token.0.is_empty() {
        return Err(ConfigError::EmptyToken);
    }
    token.header_value().map(|_| ())
}

/// The base URL of a data center (`us`, `eu`, …; case-insensitive).
pub fn region_base_url(region: &str) -> Result<&'static str, ConfigError> {
    let wanted = region.trim().to_ascii_lowercase();
    REGIONS
        .iter()
        .find(|(name, _)| *name == wanted)
        .map(|(_, url)| *url)
        .ok_or_else(|| ConfigError::UnknownRegion {
            region: region.to_owned(),
        })
}

/// Checks a base URL and puts it in one form: `https://host[:port]/…/api`, no trailing slash.
/// A URL whose path does not end in `/api` gets it appended (`https://www.workato.com` is
/// understood as `https://www.workato.com/api`). Plain `http://` is refused unless the host is
/// loopback: the token would otherwise cross the network in clear text. `origin` names where the
/// URL came from, for the error.
pub fn normalize_base_url(text: &str, origin: &'static str) -> Result<String, ConfigError> {
    let invalid = |reason: &str| ConfigError::InvalidBaseUrl {
        url: redact_userinfo(text),
        origin,
        reason: reason.to_owned(),
    };
    let parsed = url::Url::parse(text.trim()).map_err(|_| invalid("it is not a URL"))?;
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err(invalid(
            "it must not carry a user name or password; the token comes from `WORKATO_API_TOKEN`",
        ));
    }
    if parsed.query().is_some() || parsed.fragment().is_some() {
        return Err(invalid("it must not have a query or a fragment"));
    }
    let loopback = match parsed.host() {
        Some(url::Host::Domain(domain)) => domain.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(address)) => address.is_loopback(),
        Some(url::Host::Ipv6(address)) => address.is_loopback(),
        None => return Err(invalid("it has no host")),
    };
    match parsed.scheme() {
        "https" => {}
        "http" if loopback => {}
        "http" => {
            return Err(ConfigError::InsecureBaseUrl {
                url: redact_userinfo(text),
                origin,
            });
        }
        _ => return Err(invalid("it must start with `https://`")),
    }
    let mut normalized = parsed.as_str().trim_end_matches('/').to_owned();
    if !normalized.ends_with("/api") {
        normalized.push_str("/api");
    }
    Ok(normalized)
}

/// `text` with any `user:password@` replaced by `***@`, for error messages.
fn redact_userinfo(text: &str) -> String {
    let text = text.trim();
    let Some(scheme_end) = text.find("://") else {
        return text.to_owned();
    };
    let rest = &text[scheme_end + 3..];
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    match rest[..authority_end].rfind('@') {
        Some(at) => format!("{}://***@{}", &text[..scheme_end], &rest[at + 1..]),
        None => text.to_owned(),
    }
}

/// `EMBEDCTL_RATE_SHARE`: 0 < x ≤ 1, default 1.
pub fn parse_rate_share(value: Option<&str>) -> Result<f64, ConfigError> {
    let Some(text) = value.map(str::trim).filter(|text| !text.is_empty()) else {
        return Ok(1.0);
    };
    match text.parse::<f64>() {
        Ok(share) if share.is_finite() && share > 0.0 && share <= 1.0 => Ok(share),
        _ => Err(ConfigError::InvalidRateShare {
            value: text.to_owned(),
        }),
    }
}

/// `EMBEDCTL_TIME_SCALE`: a finite number > 0, default 1.
pub fn parse_time_scale(value: Option<&str>) -> Result<f64, ConfigError> {
    let Some(text) = value.map(str::trim).filter(|text| !text.is_empty()) else {
        return Ok(1.0);
    };
    match text.parse::<f64>() {
        Ok(scale) if scale.is_finite() && scale > 0.0 => Ok(scale),
        _ => Err(ConfigError::InvalidTimeScale {
            value: text.to_owned(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_urls_are_normalized() {
        let normalize = |text| normalize_base_url(text, "test");
        assert_eq!(
            normalize("https://www.workato.com/api/").unwrap(),
            "https://www.workato.com/api"
        );
        assert_eq!(
            normalize("https://www.workato.com").unwrap(),
            "https://www.workato.com/api"
        );
        assert_eq!(
            normalize("http://[::1]:8080/api").unwrap(),
            "http://[::1]:8080/api"
        );
        assert_eq!(
            normalize("http://localhost:9/api").unwrap(),
            "http://localhost:9/api"
        );
        assert!(matches!(
            normalize("http://10.0.0.1/api"),
            Err(ConfigError::InsecureBaseUrl { .. })
        ));
        assert!(matches!(
            normalize("ftp://example.com/api"),
            Err(ConfigError::InvalidBaseUrl { .. })
        ));
    }

    #[test]
    fn user_info_never_reaches_an_error_message() {
        let error = normalize_base_url("https://me:hunter2@example.com/api", "test").unwrap_err();
        let message = error.to_string();
        assert!(!message.contains("hunter2"), "{message}");
        assert!(message.contains("***@example.com"), "{message}");
    }

    #[test]
    fn rate_share_and_time_scale_are_checked() {
        assert_eq!(parse_rate_share(None).unwrap(), 1.0);
        assert_eq!(parse_rate_share(Some("0.25")).unwrap(), 0.25);
        for bad in ["0", "1.5", "-1", "abc", "NaN", "inf"] {
            assert!(parse_rate_share(Some(bad)).is_err(), "{bad}");
        }
        assert_eq!(parse_time_scale(Some("600")).unwrap(), 600.0);
        for bad in ["0", "-2", "x", "inf"] {
            assert!(parse_time_scale(Some(bad)).is_err(), "{bad}");
        }
    }

    #[test]
    fn every_region_of_the_file_has_a_base_url() {
        use crate::desired_file::Region;
        let all = [
            Region::Us,
            Region::Eu,
            Region::Jp,
            Region::Sg,
            Region::Au,
            Region::Il,
            Region::Cn,
        ];
        // Adding a region to the file without adding it here stops the build.
        let _exhaustive = |region: Region| match region {
            Region::Us
            | Region::Eu
            | Region::Jp
            | Region::Sg
            | Region::Au
            | Region::Il
            | Region::Cn => {}
        };
        assert_eq!(all.len(), REGIONS.len());
        for region in all {
            assert!(region_base_url(region.name()).is_ok(), "{}", region.name());
        }
    }

    #[test]
    fn tokens_print_as_stars() {
        let token = ApiToken::new("canary-value\n");
        assert_eq!(format!("{token:?} {token}"), "*** ***");
        assert!(!format!("{:?}", token.header_value().unwrap()).contains("canary"));
    }
}
