//! Shared pieces of the OpenAPI document (`/api/openapi.json`): the security
//! schemes handlers name, the error body every route answers with, and the
//! document's header. Each domain crate documents its handlers with
//! `#[utoipa::path]` and registers them with `utoipa_axum::routes!`, so a
//! route cannot be served without being documented.

use utoipa::openapi::path::{Operation, ParameterIn, PathItem};
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{InfoBuilder, OpenApi};

/// A signed-in user: `Authorization: Bearer <token>` or the `cc_session` cookie.
pub const SESSION: &str = "session";
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
    /// For people; names the problem.
    message: String,
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
/// declared as a path parameter, an operation without the crate's `tag`.
/// Empty when it is right (the crates' unit tests assert that).
pub fn coverage_problems(doc: &OpenApi, served: &[(&str, &str)], tag: &str) -> Vec<String> {
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
            if !op.tags.iter().flatten().any(|t| t == tag) {
                problems.push(format!("{method} {path} is not tagged {tag}"));
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

/// Gives the merged document its title, version and security schemes.
pub fn finish(mut doc: OpenApi) -> OpenApi {
    unique_operation_ids(&mut doc);
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
}
