//! Shared pieces of the OpenAPI document (`/api/openapi.json`): the security
//! schemes handlers name, the error body every route answers with, and the
//! document's header. Each domain crate documents its handlers with
//! `#[utoipa::path]` and registers them with `utoipa_axum::routes!`, so a
//! route cannot be served without being documented.
//!
//! The statuses that the shared extractors answer are added here from what
//! each operation declares ([`standard_responses`]): a session requirement
//! can answer 401, a typed path parameter 400 (`invalid_path`), query
//! parameters 400 (`invalid_query`), a JSON body 400, 413, 415 and 422, a
//! request with an open-API key 401 and 429, a limited write or an
//! anonymous read 429, a body 408, and anything that reads a store 503. Each handler declares the statuses of its own rules.

use utoipa::openapi::path::{Operation, ParameterIn, PathItem};
use utoipa::openapi::response::ResponseBuilder;
use utoipa::openapi::security::{
    ApiKey, ApiKeyValue, AuthorizationCode, Flow, HttpAuthScheme, HttpBuilder, OAuth2, Scopes,
    SecurityScheme,
};
use utoipa::openapi::{ContentBuilder, InfoBuilder, OpenApi, Ref, RefOr};

/// A signed-in user: `Authorization: Bearer <token>` or the `cc_session` cookie.
pub const SESSION: &str = "session";
/// A third-party app's access token (OAuth 2.0), within its scopes.
pub const OAUTH2: &str = "oauth2";
/// A third party's open-API key in `X-Api-Key`: public data only, read only.
pub const API_KEY: &str = "api_key";

/// `{"error": {"code": "...", "message": "..."}}`: every 4xx and 5xx.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
pub struct ErrorBody {
    error: ErrorDetail,
}

#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
pub struct ErrorDetail {
    /// Stable, machine-readable (e.g. `invalid_field`, `not_found`).
    code: String,
    /// For people; names the problem (a 5xx says nothing of its cause).
    message: String,
    /// On a 5xx: the request's id (also in `X-Request-Id`), under which the
    /// failure is logged.
    #[schema(nullable = false)]
    request_id: Option<String>,
}

/// Operation ids default to handler names, which repeat across crates
/// (`list`, `create`) and for one handler serving GET and HEAD. An id used
/// more than once becomes `<method>_<path>` instead, unique by construction.
fn unique_operation_ids(doc: &mut OpenApi) {
    use std::collections::HashMap;
    let mut seen: HashMap<String, usize> = HashMap::new();
    for item in doc.paths.paths.values() {
        for (_, op) in operations(item) {
            if let Some(id) = &op.operation_id {
                *seen.entry(id.clone()).or_default() += 1;
            }
        }
    }
    for (path, item) in doc.paths.paths.iter_mut() {
        for (method, op) in operations_mut(item) {
            let repeated = op
                .operation_id
                .as_ref()
                .is_none_or(|id| seen.get(id).copied().unwrap_or(0) > 1);
            if repeated {
                let slug: String = path
                    .chars()
                    .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
                    .collect();
                let slug = slug
                    .split('_')
                    .filter(|p| !p.is_empty())
                    .collect::<Vec<_>>()
                    .join("_");
                op.operation_id = Some(format!("{method}_{slug}"));
            }
        }
    }
}

/// Every operation of a path item, with its method.
pub fn operations(item: &PathItem) -> impl Iterator<Item = (&'static str, &Operation)> {
    [
        ("get", &item.get),
        ("put", &item.put),
        ("post", &item.post),
        ("delete", &item.delete),
        ("options", &item.options),
        ("head", &item.head),
        ("patch", &item.patch),
        ("trace", &item.trace),
    ]
    .into_iter()
    .filter_map(|(m, op)| op.as_ref().map(|op| (m, op)))
}

/// What is wrong with a crate's part of the document, given the (method,
/// path) pairs its router serves: a route missing or extra, a `{param}` not
/// declared as a path parameter, an operation without one of the crate's
/// `tags`. Empty when it is right (the crates' unit tests assert that).
pub fn coverage_problems(doc: &OpenApi, served: &[(&str, &str)], tags: &[&str]) -> Vec<String> {
    let mut problems = Vec::new();
    let mut documented: Vec<(&str, &str)> = doc
        .paths
        .paths
        .iter()
        .flat_map(|(path, item)| operations(item).map(move |(m, _)| (m, path.as_str())))
        .collect();
    documented.sort_unstable();
    let mut expected = served.to_vec();
    expected.sort_unstable();
    if documented != expected {
        problems.push(format!("documented {documented:?}, served {expected:?}"));
    }
    for (path, item) in &doc.paths.paths {
        for (method, op) in operations(item) {
            let declared: Vec<&str> = op
                .parameters
                .iter()
                .flatten()
                .filter(|p| matches!(p.parameter_in, ParameterIn::Path))
                .map(|p| p.name.as_str())
                .collect();
            for segment in path.split('/') {
                if let Some(name) = segment.strip_prefix('{').and_then(|s| s.strip_suffix('}'))
                    && !declared.contains(&name)
                {
                    problems.push(format!(
                        "{method} {path}: `{name}` is not a declared path parameter"
                    ));
                }
            }
            if !op.tags.iter().flatten().any(|t| tags.contains(&t.as_str())) {
                problems.push(format!("{method} {path} is tagged none of {tags:?}"));
            }
        }
    }
    problems
}

fn operations_mut(item: &mut PathItem) -> impl Iterator<Item = (&'static str, &mut Operation)> {
    [
        ("get", &mut item.get),
        ("put", &mut item.put),
        ("post", &mut item.post),
        ("delete", &mut item.delete),
        ("options", &mut item.options),
        ("head", &mut item.head),
        ("patch", &mut item.patch),
        ("trace", &mut item.trace),
    ]
    .into_iter()
    .filter_map(|(m, op)| op.as_mut().map(|op| (m, op)))
}

/// An error response with the shared body.
fn error_response(description: &str) -> RefOr<utoipa::openapi::Response> {
    ResponseBuilder::new()
        .description(description)
        .content(
            "application/json",
            ContentBuilder::new()
                .schema(Some(Ref::from_schema_name("ErrorBody")))
                .build(),
        )
        .into()
}

/// The statuses an operation can answer because of the shared extractors
/// and layers, given what it declares; `(status, description)`.
pub fn standard_responses(
    path: &str,
    method: &str,
    op: &Operation,
) -> Vec<(&'static str, &'static str)> {
    let mut out = Vec::new();
    // A session, required or optional: a bad one is refused either way.
    let takes_session = op
        .security
        .iter()
        .flatten()
        .any(|r| value(r).get(SESSION).is_some());
    if takes_session {
        out.push(("401", "Not signed in, or the session is unknown or expired"));
        out.push((
            "403",
            "A third-party app's token does not cover this route (`insufficient_scope`; the scopes each route needs are its `oauth2` requirement)",
        ));
        let m = method
            .to_uppercase()
            .parse()
            .unwrap_or(axum::http::Method::GET);
        let refused = [
            crate::standing::Standing::Suspended,
            crate::standing::Standing::TermsDue(String::new()),
        ]
        .iter()
        .any(|s| !crate::standing::allowed(s, &m, path));
        if refused {
            out.push((
                "403",
                "The terms in force wait for my acceptance (`terms_not_accepted`), or the account is suspended (`account_suspended`)",
            ));
        }
    }
    let params = op.parameters.iter().flatten();
    let typed_path = params.clone().any(|p| {
        matches!(p.parameter_in, ParameterIn::Path)
            && p.schema.as_ref().is_some_and(|s| {
                let s = value(s);
                s.get("type").and_then(|t| t.as_str()) != Some("string")
                    || s.get("format").is_some()
            })
    });
    if typed_path {
        out.push((
            "400",
            "A path parameter is not of its type (`invalid_path`)",
        ));
    }
    if params
        .clone()
        .any(|p| matches!(p.parameter_in, ParameterIn::Query))
    {
        out.push(("400", "A query parameter is invalid (`invalid_query`)"));
    }
    let json_body = op.request_body.as_ref().is_some_and(|b| {
        b.content.keys().all(|k| k == "application/json") && !b.content.is_empty()
    });
    if json_body {
        out.push(("400", "The body is not JSON (`malformed_json`)"));
        out.push(("413", "The body is too large (`body_too_large`)"));
        out.push(("415", "The body is not `Content-Type: application/json`"));
        out.push((
            "422",
            "The body's fields are missing or of the wrong type (`invalid_fields`)",
        ));
    }
    // The open-API key gate answers these on every route: a bad key 401,
    // a key over its limit 429, a key on a method other than GET 403.
    out.push(("401", "The `X-Api-Key` is unknown or revoked"));
    out.push((
        "429",
        "Too many requests for this key or from this address (Retry-After)",
    ));
    // The write limits and the anonymous-read allowance (write_limits.rs).
    let limited = axum::http::Method::from_bytes(method.to_ascii_uppercase().as_bytes())
        .ok()
        .and_then(|m| crate::write_limits::write_of(&m, path));
    if limited.is_some() {
        out.push((
            "429",
            "Too many of these writes from this account or address (Retry-After)",
        ));
    }
    if method == "get" || method == "head" {
        out.push((
            "429",
            "Too many anonymous reads from this address (Retry-After)",
        ));
    }
    // A body that does not arrive in time (http.body_timeout_secs).
    if op.request_body.is_some() {
        out.push((
            "408",
            "The request body did not arrive in time (`body_timeout`)",
        ));
    }
    if method != "get" && method != "head" && method != "options" {
        out.push((
            "403",
            "An `X-Api-Key` only reads; changes need the account's own session",
        ));
    }
    let storeless = matches!(path, "/api/openapi.json" | "/metrics") || method == "options";
    if !storeless {
        out.push((
            "503",
            "A store this request needs is unavailable; retry shortly (Retry-After)",
        ));
    }
    out
}

/// A piece of the document as JSON, to read what it declares.
fn value<T: serde::Serialize>(v: &T) -> serde_json::Value {
    serde_json::to_value(v).unwrap_or(serde_json::Value::Null)
}

/// Adds the [`standard_responses`] an operation does not declare itself;
/// several causes of one status share its description.
fn add_standard_responses(doc: &mut OpenApi) {
    use std::collections::BTreeMap;
    for (path, item) in doc.paths.paths.iter_mut() {
        for (method, op) in operations_mut(item) {
            add_app_scope(path, method, op);
            let mut causes: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
            for (status, description) in standard_responses(path, method, op) {
                causes.entry(status).or_default().push(description);
            }
            for (status, descriptions) in causes {
                op.responses
                    .responses
                    .entry(status.to_string())
                    .or_insert_with(|| error_response(&descriptions.join("; ")));
            }
        }
    }
}

/// A route a third-party app may call for a person gets the `oauth2`
/// requirement naming the scope it needs (`scopes.rs`), beside the session.
fn add_app_scope(path: &str, method: &str, op: &mut Operation) {
    use crate::scopes::{Need, need};
    use utoipa::openapi::security::SecurityRequirement;
    let takes_session = op
        .security
        .iter()
        .flatten()
        .any(|r| value(r).get(SESSION).is_some());
    let Ok(m) = axum::http::Method::from_bytes(method.to_ascii_uppercase().as_bytes()) else {
        return;
    };
    if let (true, Need::Scope(scope)) = (takes_session, need(&m, path)) {
        op.security
            .get_or_insert_with(Vec::new)
            .push(SecurityRequirement::new(OAUTH2, [scope.as_str()]));
    }
}

/// Gives the merged document its title, version and security schemes.
pub fn finish(mut doc: OpenApi) -> OpenApi {
    unique_operation_ids(&mut doc);
    add_standard_responses(&mut doc);
    doc.info = InfoBuilder::new()
        .title("Cloudcast API")
        .version(env!("CARGO_PKG_VERSION"))
        .description(Some(
            "Long-form audio: accounts, resumable uploads, the catalogue, \
             HLS streaming, listening statistics and the privacy rights of \
             the policy. Errors are JSON: {\"error\": {\"code\", \"message\"}}. \
             No response shows an email address except the account's own \
             (`/api/v1/me`) and its data export.",
        ))
        .build();
    let components = doc.components.get_or_insert_with(Default::default);
    components.add_security_scheme(
        SESSION,
        SecurityScheme::Http(
            HttpBuilder::new()
                .scheme(HttpAuthScheme::Bearer)
                .description(Some(
                    "The token from POST /api/v1/sessions (or its cookie).",
                ))
                .build(),
        ),
    );
    let scopes = crate::scopes::Scope::ALL
        .iter()
        .map(|s| (s.as_str(), s.words()));
    components.add_security_scheme(
        OAUTH2,
        SecurityScheme::OAuth2(OAuth2::with_description(
            [Flow::AuthorizationCode(AuthorizationCode::new(
                "/oauth/authorize",
                "/oauth/token",
                Scopes::from_iter(scopes),
            ))],
            "A third-party app acting for a person who allowed it: the authorization \
             code flow with PKCE (S256), metadata at /.well-known/oauth-authorization-server. \
             An access token reaches the routes its scopes cover (403 `insufficient_scope` \
             past them) and never the account's own settings.",
        )),
    );
    components.add_security_scheme(
        API_KEY,
        SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
            "X-Api-Key",
            "An open-API key made in the user's settings: GET only, public data \
             only, rate-limited per key (429 with Retry-After).",
        ))),
    );
    components.schemas.insert(
        "ErrorBody".into(),
        <ErrorBody as utoipa::PartialSchema>::schema(),
    );
    components.schemas.insert(
        "ErrorDetail".into(),
        <ErrorDetail as utoipa::PartialSchema>::schema(),
    );
    doc
}

#[cfg(test)]
mod tests {
    use super::*;
    use utoipa::openapi::path::{HttpMethod, OperationBuilder, PathItemBuilder};
    use utoipa::openapi::{OpenApiBuilder, PathsBuilder};

    fn op(id: &str) -> Operation {
        OperationBuilder::new().operation_id(Some(id)).build()
    }

    #[test]
    fn repeated_operation_ids_become_method_and_path() {
        let doc = OpenApiBuilder::new()
            .paths(
                PathsBuilder::new()
                    .path(
                        "/api/v1/me/exports",
                        PathItemBuilder::new()
                            .operation(HttpMethod::Get, op("list"))
                            .build(),
                    )
                    .path(
                        "/api/v1/me/api-keys/{id}",
                        PathItemBuilder::new()
                            .operation(HttpMethod::Get, op("list"))
                            .operation(HttpMethod::Delete, op("revoke"))
                            .build(),
                    ),
            )
            .build();
        let doc = finish(doc);
        let ids: Vec<String> = doc
            .paths
            .paths
            .values()
            .flat_map(|item| operations(item).filter_map(|(_, o)| o.operation_id.clone()))
            .collect();
        assert_eq!(
            ids,
            [
                "get_api_v1_me_api_keys_id",
                "revoke",
                "get_api_v1_me_exports"
            ]
        );
    }

    #[test]
    fn the_shared_extractors_statuses_are_added() {
        use utoipa::openapi::path::{ParameterBuilder, ParameterIn};
        use utoipa::openapi::request_body::RequestBodyBuilder;
        use utoipa::openapi::security::SecurityRequirement;
        use utoipa::openapi::{ContentBuilder, ObjectBuilder, Type};
        let uuid = ObjectBuilder::new().schema_type(Type::String).format(Some(
            utoipa::openapi::SchemaFormat::KnownFormat(utoipa::openapi::KnownFormat::Uuid),
        ));
        let op = OperationBuilder::new()
            .parameter(
                ParameterBuilder::new()
                    .name("id")
                    .parameter_in(ParameterIn::Path)
                    .schema(Some(uuid)),
            )
            .request_body(Some(
                RequestBodyBuilder::new()
                    .content("application/json", ContentBuilder::new().build())
                    .build(),
            ))
            .security(SecurityRequirement::new::<_, _, &str>(SESSION, []))
            .build();
        let statuses: Vec<&str> = standard_responses("/x/{id}", "post", &op)
            .into_iter()
            .map(|(s, _)| s)
            .collect();
        for want in ["401", "400", "413", "415", "422", "429", "403", "503"] {
            assert!(statuses.contains(&want), "{want} missing from {statuses:?}");
        }
        // A plain string path parameter and no body: no 400 for either.
        let plain = OperationBuilder::new()
            .parameter(
                ParameterBuilder::new()
                    .name("username")
                    .parameter_in(ParameterIn::Path)
                    .schema(Some(ObjectBuilder::new().schema_type(Type::String))),
            )
            .build();
        let statuses: Vec<&str> = standard_responses("/u/{username}", "get", &plain)
            .into_iter()
            .map(|(s, _)| s)
            .collect();
        assert!(!statuses.contains(&"400"), "{statuses:?}");
        assert!(!statuses.contains(&"403"), "reads are not refused to keys");
        assert!(
            !standard_responses("/metrics", "get", &plain)
                .iter()
                .any(|(s, _)| *s == "503")
        );
    }
}
