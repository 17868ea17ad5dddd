//! The exported desired-state file as text: a header that says where it came from and what to
//! fill in, the file, and the variables its credential placeholders read. Every value from
//! Workato is written as a double-quoted JSON string, which YAML reads as the same text whatever
//! it holds; comments quote values the same way, so a name cannot end a comment line.

use std::fmt::Write as _;

use super::{
    CREDENTIAL_PLACEHOLDER_FIELD, ConnectionKind, Export, ExportedConnection, ExportedManifest,
    PACKAGE_PLACEHOLDER_PREFIX,
};

/// Where the account was read, as the file's `workato:` says it.
#[derive(Clone, Debug, PartialEq)]
pub enum Where {
    /// One of Workato's data centers.
    Region(&'static str),
    /// Any other base URL.
    BaseUrl(String),
    /// A simulator: no `workato:` section.
    Simulator,
}

/// The address placeholder of a customer Workato has no notification email for.
pub const EMAIL_PLACEHOLDER: &str = "replace-me@example.invalid";

fn quoted(text: &str) -> String {
    serde_json::Value::String(text.to_owned()).to_string()
}

fn quoted_list(items: &[String]) -> String {
    serde_json::Value::from(items.to_vec()).to_string()
}

/// `1 customer`, `2 customers`.
pub fn count(number: usize, one: &str, many: &str) -> String {
    format!("{number} {}", if number == 1 { one } else { many })
}

/// The file. `source` names where it was read (a host, never a token).
pub fn render(export: &Export, source: &str, place: &Where) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "# Exported by `embedctl export` from {source}: {}, {}, {}.",
        count(export.customers.len(), "customer", "customers"),
        count(export.manifests.len(), "manifest", "manifests"),
        count(export.runtime_user_count(), "runtime user", "runtime users"),
    );
    out.push_str(&format!(
        "#
# Fill in every PLACEHOLDER before `embedctl plan` or `apply`:
#   - each `package:` is a made-up path ({PACKAGE_PLACEHOLDER_PREFIX}…): point it at the recipe
#     package (a folder or a .zip) you deploy into that manifest's folder;
#   - each default connection has one made-up credential field, `{CREDENTIAL_PLACEHOLDER_FIELD}`: Workato does
#     not say which fields a connection takes, so name its real ones (e.g. `api_key`), each
#     `{{ env: NAME }}`; the variables are listed at the end of this file.
# Not exported, since Workato does not return them: connection `settings`, per-customer
# credentials, `restart_recipes`, `prune_runtime_users` and `workato.vendor_id`.
# Then `embedctl validate`, and `embedctl plan`: only credentials should be left to send.
version: 1
"
    ));
    match place {
        Where::Region(region) => {
            let _ = write!(out, "\nworkato:\n  region: {region}\n");
        }
        Where::BaseUrl(url) => {
            let _ = write!(out, "\nworkato:\n  base_url: {}\n", quoted(url));
        }
        Where::Simulator => {}
    }
    if !export.manifests.is_empty() {
        out.push_str("\nmanifests:\n");
        for (index, manifest) in export.manifests.values().enumerate() {
            if index > 0 {
                out.push('\n');
            }
            manifest_text(&mut out, manifest);
        }
    }
    if !export.customers.is_empty() {
        out.push_str("\ncustomers:\n");
        for (index, customer) in export.customers.iter().enumerate() {
            if index > 0 {
                out.push('\n');
            }
            let _ = writeln!(out, "  - external_id: {}", quoted(&customer.external_id));
            let _ = writeln!(out, "    name: {}", quoted(&customer.name));
            match &customer.notification_email {
                Some(email) => {
                    let _ = writeln!(out, "    notification_email: {}", quoted(email));
                }
                None => {
                    let _ = writeln!(
                        out,
                        "    notification_email: {}   # PLACEHOLDER: Workato has no notification email for this customer",
                        quoted(EMAIL_PLACEHOLDER)
                    );
                }
            }
            if !customer.manifests.is_empty() {
                let _ = writeln!(out, "    manifests: {}", quoted_list(&customer.manifests));
            }
            if !customer.runtime_users.is_empty() {
                out.push_str("    runtime_users:\n");
                for user in &customer.runtime_users {
                    let _ = writeln!(out, "      - id: {}", quoted(&user.id));
                    if let Some(name) = &user.name {
                        let _ = writeln!(out, "        name: {}", quoted(name));
                    }
                }
            }
        }
    }
    let variables = export.variables();
    if !variables.is_empty() {
        out.push_str(
            "\n# The variables the credential placeholders read (rename them with the fields):\n",
        );
        out.push_str(&variable_lines(&variables, "#   "));
    }
    out
}

/// One line per variable, `PREFIX<variable>  <manifest>.<connection>`, the connections aligned.
pub fn variable_lines(variables: &[(String, String)], prefix: &str) -> String {
    let width = variables.iter().map(|(v, _)| v.len()).max().unwrap_or(0);
    variables
        .iter()
        .map(|(variable, connection)| format!("{prefix}{variable:<width$}  {connection}\n"))
        .collect()
}

fn manifest_text(out: &mut String, manifest: &ExportedManifest) {
    // Keys are quoted like every value: a key made from a name such as "Null" is `null`, which
    // YAML reads as no key at all.
    let _ = writeln!(out, "  {}:", quoted(&manifest.key));
    let _ = writeln!(
        out,
        "    # PLACEHOLDER: the package you deploy into {}",
        quoted(&manifest.folder)
    );
    let _ = writeln!(
        out,
        "    package: {}",
        quoted(&manifest.package_placeholder())
    );
    let _ = writeln!(out, "    folder: {}", quoted(&manifest.folder));
    if let Some(home) = &manifest.home_assets_folder {
        let _ = writeln!(out, "    home_assets_folder: {}", quoted(home));
    }
    if manifest.nothing_runs() {
        out.push_str(
            "    # NOTE: no recipe of this folder runs in any customer. `recipes: []` requires none
    # to run, so plan and drift report no recipe stopped. List the recipes that must run (or
    # remove the key for every recipe of the package), and apply starts them.
    recipes: []
",
        );
    } else if let Some(recipes) = &manifest.recipes {
        let _ = writeln!(
            out,
            "    recipes: {}   # the recipes running in some customer",
            quoted_list(recipes)
        );
    }
    if manifest.connections.is_empty() {
        return;
    }
    out.push_str("    connections:\n");
    for (key, connection) in &manifest.connections {
        connection_text(out, key, connection);
    }
}

fn connection_text(out: &mut String, key: &str, connection: &ExportedConnection) {
    if connection.never_authorized() {
        out.push_str(
            "      # NOTE: not authorized in any customer, so nothing says you hold its credentials.
      # If your end users connect it, replace `credentials:` with `runtime_users: true`
      # (and `parent:` or `recipe_functions:`).
",
        );
        if connection.oauth_only() {
            let _ = writeln!(
                out,
                "      # Connector {} is authorized with OAuth only: credentials of yours would be
      # an `oauth_token_pair` (`access_token`, `refresh_token`).",
                quoted(&connection.provider)
            );
        }
    }
    let _ = writeln!(out, "      {}:", quoted(key));
    let _ = writeln!(out, "        name: {}", quoted(&connection.name));
    let _ = writeln!(out, "        provider: {}", quoted(&connection.provider));
    match &connection.kind {
        ConnectionKind::Default { env, .. } => {
            out.push_str("        credentials:\n");
            out.push_str("          # PLACEHOLDER: name the connection's real fields\n");
            let _ = writeln!(
                out,
                "          {CREDENTIAL_PLACEHOLDER_FIELD}: {{ env: {env} }}"
            );
        }
        ConnectionKind::Runtime {
            parent_default,
            recipe_functions,
        } => {
            out.push_str("        runtime_users: true\n");
            let _ = writeln!(
                out,
                "        parent: {}",
                if *parent_default { "default" } else { "none" }
            );
            if !recipe_functions.is_empty() {
                let _ = writeln!(
                    out,
                    "        recipe_functions: {}",
                    quoted_list(recipe_functions)
                );
            }
        }
    }
}
