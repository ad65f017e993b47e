"""The service's OpenAPI 3.1 document, written by hand (served at `GET /openapi.json`; a test keeps every route
in it). The result objects are the library's JSON (docs/api.md, "Results as data"); they are described here
by their main fields and left open (`additionalProperties`) for the rest."""

from __future__ import annotations

from typing import Any

from safetyrules import __version__


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


_DATE = {"type": "string", "format": "date", "examples": ["2022-12-31"]}
_PARAMS = {"type": "object", "description": "Param (or definition) overrides, written as `--param NAME=VALUE` "
           "takes them (`\"2 years\"`, `\"[construction, mining]\"`) or as JSON values (a list of codes, a number, "
           "true/false).", "additionalProperties": {"type": ["string", "integer", "boolean", "array"]},
           "examples": [{"other_assessment_period": "2 years"}]}
_RECORD = {"type": "object", "description": "One subject's facts, as `GET /v1/schema` describes them."}


def _errors(*statuses: int) -> dict[str, Any]:
    reasons = {
        400: "Malformed request: not JSON, not an object, an unknown key, a value of the wrong shape",
        401: "A token is configured and the request has no valid `Authorization: Bearer <token>`",
        403: "The service is read-only",
        404: "No such decision",
        413: "The body is larger than the limit, or there are more records than the limit",
        422: "A record breaks the fact contract (each named by its place and field path), a bad date or param, "
             "an unknown rule",
        503: "The decision records are unavailable",
    }
    return {str(s): _json(_ref("Error"), reasons[s]) for s in statuses}


def openapi_document(policy_name: str, policy_version: str, max_body: int, max_records: int) -> dict[str, Any]:
    """The OpenAPI 3.1 document of the service serving `policy_name`."""
    write: list[dict[str, list[str]]] = [{"bearer": []}]
    return {
        "openapi": "3.1.0",
        "info": {
            "title": f"safetyrules decision service — {policy_name}",
            "version": __version__,
            "description": f"Policy `{policy_name}` version `{policy_version}`. Bodies up to {max_body:,} bytes and "
                           f"{max_records:,} records per request. Every refusal is `{{\"error\": {{code, message, "
                           "message_zh, errors}}}`. See docs/service.md.",
        },
        "servers": [{"url": "/"}],
        "paths": {
            "/v1/evaluate": {"post": {
                "operationId": "evaluate",
                "summary": "Decide: every rule's outcome for one record or a list, each stored as a decision",
                "security": write,
                "requestBody": {"required": True, "content": {"application/json": {"schema": _ref("EvaluateRequest")}}},
                "responses": {
                    "200": {"description": "One decision (`record`) or a list (`records`); with `Accept: "
                            "application/x-ndjson`, one decision per line as it is made",
                            "content": {"application/json": {"schema": {"oneOf": [_ref("Decided"),
                                                                                    _ref("DecidedList")]}},
                                        "application/x-ndjson": {"schema": _ref("Decided")}}},
                    **_errors(400, 401, 403, 413, 422)}}},
            "/v1/explain": {"post": {
                "operationId": "explain",
                "summary": "The explanation trees of one record's outcomes (nothing is stored)",
                "requestBody": {"required": True, "content": {"application/json": {"schema": _ref("ExplainRequest")}}},
                "responses": {"200": _json(_ref("Explained"), "The chosen rules' results with their trees and text"),
                              **_errors(400, 413, 422)}}},
            "/v1/whatif": {"post": {
                "operationId": "whatif",
                "summary": "Base vs scenario over a posted population (nothing is stored)",
                "security": write,
                "requestBody": {"required": True, "content": {"application/json": {"schema": _ref("WhatIfRequest")}}},
                "responses": {"200": _json({"type": "object", "description": "The report `safetyrules whatif` "
                                            "writes as whatif.json (docs/whatif.md)"}, "The comparison"),
                              **_errors(400, 401, 403, 413, 422)}}},
            "/v1/policy": {"get": {
                "operationId": "policy",
                "summary": "The policy served: name, version, digest, rules with titles, catalogue ids and clauses, "
                           "params with docs and defaults",
                "responses": {"200": _json(_ref("Policy"), "The policy")}}},
            "/v1/schema": {"get": {
                "operationId": "schema",
                "summary": "The JSON Schema of one subject record (what `safetyrules schema` prints)",
                "responses": {"200": _json({"type": "object"}, "A JSON Schema (draft 2020-12)")}}},
            "/v1/health": {"get": {
                "operationId": "health",
                "summary": "Liveness and the decision records' reachability",
                "responses": {"200": _json(_ref("Health"), "Up"), **_errors(503)}}},
            "/v1/decisions/{id}": {"get": {
                "operationId": "decision",
                "summary": "One stored decision, with its hash chain fields (it holds the record's facts)",
                "security": write,
                "parameters": [{"name": "id", "in": "path", "required": True,
                                "schema": {"type": "integer", "minimum": 1}}],
                "responses": {"200": _json(_ref("Decision"), "The decision"), **_errors(401, 404)}}},
            "/openapi.json": {"get": {
                "operationId": "openapi",
                "summary": "This document",
                "responses": {"200": _json({"type": "object"}, "OpenAPI 3.1")}}},
        },
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer",
                                           "description": "Needed by evaluate, whatif and reading a stored "
                                                          "decision when the service has a token "
                                                          "(SAFETYRULES_TOKEN)"}},
            "schemas": {
                "Error": {"type": "object", "required": ["error"], "properties": {"error": {
                    "type": "object", "required": ["code", "message", "message_zh"],
                    "properties": {
                        "code": {"type": "string", "examples": ["invalid_record", "bad_json", "unknown_rule"]},
                        "message": {"type": "string"}, "message_zh": {"type": "string"},
                        "errors": {"type": "array", "items": {"type": "object", "properties": {
                            "at": {"type": "string", "examples": ["records[3]"]},
                            "subject": {"type": ["string", "integer", "null"]},
                            "path": {"type": "string", "examples": ["hazards[0].remediated_on"]},
                            "message": {"type": "string"}, "message_zh": {"type": "string"},
                            "code": {"type": "string"}, "text": {"type": "string"},
                            "text_zh": {"type": "string"}}}}}}}},
                "EvaluateRequest": {"type": "object", "required": ["as_of"], "additionalProperties": False,
                                    "properties": {"record": _RECORD, "records": {"type": "array", "items": _RECORD,
                                                                                  "maxItems": max_records},
                                                   "as_of": _DATE, "params": _PARAMS,
                                                   "explain": {"type": "boolean", "default": False}}},
                "ExplainRequest": {"type": "object", "required": ["record", "as_of"], "additionalProperties": False,
                                   "properties": {"record": _RECORD, "as_of": _DATE, "params": _PARAMS,
                                                  "rule": {"type": "string", "description": "A rule name or a "
                                                           "catalogue id (default: every rule)"},
                                                  "lang": {"enum": ["zh", "en", "both"], "default": "both"}}},
                "WhatIfRequest": {"type": "object", "required": ["records", "as_of"], "additionalProperties": False,
                                  "properties": {"name": {"type": "string"},
                                                 "records": {"type": "array", "items": _RECORD,
                                                             "maxItems": max_records},
                                                 "as_of": {"oneOf": [_DATE, {"type": "array", "items": _DATE,
                                                                             "minItems": 1, "maxItems": 24}]},
                                                 "params": _PARAMS,
                                                 "rules_off": {"type": "array", "items": {"type": "string"}}}},
                "RuleResult": {"type": "object", "description": "docs/api.md, Results as data",
                               "properties": {"enterprise": {"type": "string"}, "rule": {"type": "string"},
                                              "implements": {"type": "array", "items": {"type": "string"}},
                                              "outcome": {"enum": ["violated", "pending", "satisfied",
                                                                   "not_applicable", "unknown", "triggered",
                                                                   "expired", "not_triggered"]},
                                              "due_on": {"type": ["string", "null"], "format": "date"},
                                              "message": {"type": ["object", "null"]}},
                               "additionalProperties": True},
                "Decided": {"type": "object", "required": ["decision_id", "enterprise", "as_of", "results"],
                            "properties": {"decision_id": {"type": "integer"}, "schema_version": {"type": "string"},
                                           "enterprise": {"type": "string"}, "as_of": _DATE,
                                           "results": {"type": "array", "items": _ref("RuleResult")}},
                            "additionalProperties": True},
                "DecidedList": {"type": "object", "required": ["count", "results"],
                                "properties": {"policy": _ref("PolicyRef"), "as_of": _DATE, "params": _PARAMS,
                                               "count": {"type": "integer"},
                                               "warnings": {"type": "array", "items": {"type": "string"}},
                                               "results": {"type": "array", "items": _ref("Decided")}}},
                "Explained": {"type": "object", "properties": {
                    "enterprise": {"type": "string"}, "as_of": _DATE,
                    "results": {"type": "array", "items": {"allOf": [_ref("RuleResult"), {
                        "type": "object", "properties": {"explanation": {"type": "array"},
                                                         "text": {"type": "string"}}}]}}}},
                "PolicyRef": {"type": "object", "required": ["name", "version", "digest"],
                              "properties": {"name": {"type": "string"}, "version": {"type": "string"},
                                             "digest": {"type": "string", "pattern": "^sha256:[0-9a-f]{64}$"}}},
                "Policy": {"allOf": [_ref("PolicyRef"), {"type": "object", "properties": {
                    "title": {"type": "object"}, "catalogue": {"type": "array", "items": {"type": "string"}},
                    "rules": {"type": "array", "items": {"type": "object", "properties": {
                        "name": {"type": "string"}, "kind": {"type": "string"},
                        "implements": {"type": "array", "items": {"type": "string"}},
                        "title": {"type": "object"}, "clauses": {"type": "array"}, "due": {"type": "string"},
                        "params": {"type": "array", "items": {"type": "string"}}}}},
                    "params": {"type": "array", "items": {"type": "object", "properties": {
                        "name": {"type": "string"}, "type": {"type": "string"}, "default": {},
                        "doc": {"type": "string"}, "builtin": {"type": "boolean"}}}}}}]},
                "Health": {"type": "object", "properties": {"status": {"type": "string"},
                                                            "policy": _ref("PolicyRef"),
                                                            "decisions": {"type": "integer"},
                                                            "read_only": {"type": "boolean"},
                                                            "auth": {"type": "boolean"}}},
                "Decision": {"type": "object", "required": ["id", "hash", "prev_hash"], "properties": {
                    "id": {"type": "integer"}, "decided_at": {"type": "string", "format": "date-time"},
                    "policy": _ref("PolicyRef"), "params": _PARAMS, "as_of": _DATE, "subject": {"type": "string"},
                    "facts_sha256": {"type": "string"}, "facts": _RECORD,
                    "outcomes": {"type": "array", "items": {"type": "object"}},
                    "prev_hash": {"type": "string"}, "hash": {"type": "string",
                                                              "description": "SHA-256 of the canonical JSON of "
                                                              "this object without `hash`"}}},
            },
        },
    }
