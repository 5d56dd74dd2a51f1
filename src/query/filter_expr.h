// filter_expr.h: the filter expression language of skyprobectl and
// FlowQuery.expression, parsed into the structured Filter of
// probe_service.proto (Skydive's filter kinds).
//
// Owner: none (pure function). Called on gRPC threads and in skyprobectl.
//
//   SKYPROBE_ASSIGN_OR_RETURN(v1::Filter f, ParseFilterExpression(
//       "Network.A = '10.0.0.1' and Metric.ABBytes > 1000"));
//
// Grammar (keywords are case-insensitive; docs/query.md has examples):
//
//   expr      := and_expr ('or' and_expr)*
//   and_expr  := unary ('and' unary)*
//   unary     := 'not' unary | '(' expr ')' | condition
//   condition := KEY ('=' | '==' | '!=') value
//              | KEY ('<' | '<=' | '>' | '>=') INTEGER
//              | KEY '=~' STRING                      (RE2, unanchored)
//              | KEY ['not'] 'in' '(' value (',' value)* ')'
//              | KEY 'is' ['not'] 'null'
//   value     := STRING | INTEGER | 'true' | 'false'
//   KEY       := NAME ('.' NAME)*                      e.g. Network.A, TCP.Protocol
//   STRING    := '...' | "..."                         (\\ escapes the next character)
//   INTEGER   := ['-'] DIGITS
//
// Precedence: not > and > or. "a != v" means "a is present and differs"
// (Skydive's Ne); "not a = v" also matches flows without a. Errors are
// INVALID_ARGUMENT naming the column: "column 13: unknown key 'Network.X'
// (did you mean 'Network.A'?)", "column 1: Transport.B is an integer key:
// compare it with a number, not '22'".
//
// Bounded (filter_limits.h): parentheses and 'not' nest at most 64 deep, the
// Filter built is at most 64 levels deep and 10,000 terms, an `in` list holds
// at most 4096 values, a filter at most 64 regular expressions. The parser
// stops at the limit ("column 129: more than 64 nested parentheses or 'not'
// (the limit is 64)"): its stack, time and memory are bounded whatever the text.
#pragma once

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "skyprobe/v1/probe_service.pb.h"

namespace skyprobe::query {

// An empty (or all-blank) expression gives an empty Filter, which matches all.
absl::StatusOr<skyprobe::v1::Filter> ParseFilterExpression(absl::string_view text);

}  // namespace skyprobe::query
