// filter_expr.cc: a hand-written lexer and recursive-descent parser. Keys and
// value types are checked here, against the field table, so that errors can
// point at a column; the structured-filter compiler checks them again for
// clients that send a Filter directly.

#include "query/filter_expr.h"

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "query/flow_fields.h"
#include "re2/re2.h"

namespace skyprobe::query {
namespace {

namespace v1 = ::skyprobe::v1;

enum class Tok : uint8_t {
  kEnd,
  kName,  // a key or a keyword
  kString,
  kInt,
  kLParen,
  kRParen,
  kComma,
  kEq,  // = or ==
  kNe,
  kLt,
  kLe,
  kGt,
  kGe,
  kMatch,  // =~
};

struct Token {
  Tok kind = Tok::kEnd;
  std::string text;  // name, unescaped string, or integer digits
  int64_t number = 0;
  size_t column = 0;  // 1-based
};

absl::Status ErrorAt(size_t column, absl::string_view message) {
  return absl::InvalidArgumentError(absl::StrCat("column ", column, ": ", message));
}

absl::StatusOr<std::vector<Token>> Lex(absl::string_view in) {
  std::vector<Token> out;
  size_t i = 0;
  auto is_name_start = [](char c) { return absl::ascii_isalpha(c) || c == '_'; };
  auto is_name_char = [](char c) { return absl::ascii_isalnum(c) || c == '_' || c == '.'; };
  while (i < in.size()) {
    const char c = in[i];
    if (absl::ascii_isspace(c)) {
      ++i;
      continue;
    }
    Token t;
    t.column = i + 1;
    if (is_name_start(c)) {
      size_t j = i;
      while (j < in.size() && is_name_char(in[j])) ++j;
      t.kind = Tok::kName;
      t.text = std::string(in.substr(i, j - i));
      i = j;
    } else if (c == '\'' || c == '"') {
      size_t j = i + 1;
      bool closed = false;
      while (j < in.size()) {
        if (in[j] == '\\' && j + 1 < in.size()) {
          t.text.push_back(in[j + 1]);
          j += 2;
        } else if (in[j] == c) {
          closed = true;
          ++j;
          break;
        } else {
          t.text.push_back(in[j++]);
        }
      }
      if (!closed) return ErrorAt(t.column, "unterminated string");
      t.kind = Tok::kString;
      i = j;
    } else if (absl::ascii_isdigit(c) ||
               (c == '-' && i + 1 < in.size() && absl::ascii_isdigit(in[i + 1]))) {
      size_t j = i + 1;
      while (j < in.size() && absl::ascii_isalnum(in[j])) ++j;
      t.kind = Tok::kInt;
      t.text = std::string(in.substr(i, j - i));
      if (!absl::SimpleAtoi(t.text, &t.number)) {
        return ErrorAt(t.column, absl::StrCat("'", t.text, "' is not a 64-bit integer"));
      }
      i = j;
    } else {
      auto two = [&](char next) { return i + 1 < in.size() && in[i + 1] == next; };
      size_t len = 1;
      switch (c) {
        case '(':
          t.kind = Tok::kLParen;
          break;
        case ')':
          t.kind = Tok::kRParen;
          break;
        case ',':
          t.kind = Tok::kComma;
          break;
        case '=':
          t.kind = two('~') ? Tok::kMatch : Tok::kEq;
          len = two('~') || two('=') ? 2 : 1;
          break;
        case '!':
          if (!two('=')) return ErrorAt(t.column, "'!' must be followed by '=' (use 'not')");
          t.kind = Tok::kNe;
          len = 2;
          break;
        case '<':
          t.kind = two('=') ? Tok::kLe : Tok::kLt;
          len = two('=') ? 2 : 1;
          break;
        case '>':
          t.kind = two('=') ? Tok::kGe : Tok::kGt;
          len = two('=') ? 2 : 1;
          break;
        default:
          return ErrorAt(t.column, absl::StrCat("unexpected character '", std::string(1, c), "'"));
      }
      t.text = std::string(in.substr(i, len));
      i += len;
    }
    out.push_back(std::move(t));
  }
  Token end;
  end.column = in.size() + 1;
  out.push_back(end);
  return out;
}

bool IsKeyword(const Token& t, absl::string_view word) {
  return t.kind == Tok::kName && absl::EqualsIgnoreCase(t.text, word);
}

bool IsReserved(const Token& t) {
  for (absl::string_view w : {"and", "or", "not", "in", "is", "null", "true", "false"}) {
    if (IsKeyword(t, w)) return true;
  }
  return false;
}

std::string Describe(const Token& t) {
  switch (t.kind) {
    case Tok::kEnd:
      return "end of expression";
    case Tok::kString:
      return absl::StrCat("'", t.text, "'");
    default:
      return absl::StrCat("'", t.text, "'");
  }
}

v1::Filter MakeBool(v1::BoolFilter::BoolOp op, std::vector<v1::Filter> members) {
  v1::Filter f;
  v1::BoolFilter* b = f.mutable_boolfilter();
  b->set_op(op);
  for (v1::Filter& m : members) *b->add_filters() = std::move(m);
  return f;
}

class Parser {
 public:
  explicit Parser(std::vector<Token> tokens) : toks_(std::move(tokens)) {}

  absl::StatusOr<v1::Filter> Parse() {
    if (Peek().kind == Tok::kEnd) return v1::Filter();
    absl::StatusOr<v1::Filter> f = Or();
    if (!f.ok()) return f;
    if (Peek().kind != Tok::kEnd) {
      return ErrorAt(Peek().column,
                     absl::StrCat("expected 'and', 'or' or the end, got ", Describe(Peek())));
    }
    return f;
  }

 private:
  const Token& Peek() const { return toks_[pos_]; }
  const Token& Next() { return toks_[pos_ < toks_.size() - 1 ? pos_++ : pos_]; }

  absl::StatusOr<v1::Filter> Or() {
    std::vector<v1::Filter> members;
    do {
      absl::StatusOr<v1::Filter> f = And();
      if (!f.ok()) return f;
      members.push_back(*std::move(f));
    } while (IsKeyword(Peek(), "or") && (Next(), true));
    if (members.size() == 1) return std::move(members[0]);
    return MakeBool(v1::BoolFilter::OR, std::move(members));
  }

  absl::StatusOr<v1::Filter> And() {
    std::vector<v1::Filter> members;
    do {
      absl::StatusOr<v1::Filter> f = Unary();
      if (!f.ok()) return f;
      members.push_back(*std::move(f));
    } while (IsKeyword(Peek(), "and") && (Next(), true));
    if (members.size() == 1) return std::move(members[0]);
    return MakeBool(v1::BoolFilter::AND, std::move(members));
  }

  absl::StatusOr<v1::Filter> Unary() {
    if (IsKeyword(Peek(), "not")) {
      Next();
      absl::StatusOr<v1::Filter> f = Unary();
      if (!f.ok()) return f;
      std::vector<v1::Filter> one;
      one.push_back(*std::move(f));
      return MakeBool(v1::BoolFilter::NOT, std::move(one));
    }
    if (Peek().kind == Tok::kLParen) {
      Next();
      absl::StatusOr<v1::Filter> f = Or();
      if (!f.ok()) return f;
      if (Peek().kind != Tok::kRParen) {
        return ErrorAt(Peek().column, absl::StrCat("expected ')', got ", Describe(Peek())));
      }
      Next();
      return f;
    }
    return Condition();
  }

  absl::StatusOr<v1::Filter> Condition() {
    const Token key = Next();
    if (key.kind != Tok::kName || IsReserved(key)) {
      return ErrorAt(key.column,
                     absl::StrCat("expected a key such as Network.A, got ", Describe(key)));
    }
    const FieldInfo* field = FindField(key.text);
    if (field == nullptr) {
      return ErrorAt(key.column, UnknownKeyMessage(key.text));
    }
    const Token op = Next();
    switch (op.kind) {
      case Tok::kEq:
      case Tok::kNe: {
        absl::StatusOr<v1::Filter> term = Term(key, *field);
        if (!term.ok() || op.kind == Tok::kEq) return term;
        // Skydive's Ne: the key is present and differs.
        return MakeBool(v1::BoolFilter::AND, {MakeBool(v1::BoolFilter::NOT, {NullOf(key.text)}),
                                              MakeBool(v1::BoolFilter::NOT, {*std::move(term)})});
      }
      case Tok::kLt:
      case Tok::kLe:
      case Tok::kGt:
      case Tok::kGe:
        return Range(key, *field, op);
      case Tok::kMatch: {
        const Token v = Next();
        if (v.kind != Tok::kString) {
          return ErrorAt(v.column,
                         absl::StrCat("'=~' needs a quoted regular expression, got ", Describe(v)));
        }
        RE2 re(v.text, RE2::Quiet);
        if (!re.ok()) {
          return ErrorAt(v.column,
                         absl::StrCat("bad regular expression '", v.text, "': ", re.error()));
        }
        v1::Filter f;
        f.mutable_regexfilter()->set_key(key.text);
        f.mutable_regexfilter()->set_value(v.text);
        return f;
      }
      case Tok::kName:
        if (IsKeyword(op, "is")) {
          bool negate = false;
          if (IsKeyword(Peek(), "not")) {
            Next();
            negate = true;
          }
          const Token n = Next();
          if (!IsKeyword(n, "null")) {
            return ErrorAt(n.column, absl::StrCat("expected 'null', got ", Describe(n)));
          }
          v1::Filter f = NullOf(key.text);
          return negate ? MakeBool(v1::BoolFilter::NOT, {std::move(f)}) : f;
        }
        if (IsKeyword(op, "in")) return In(key, *field);
        if (IsKeyword(op, "not") && IsKeyword(Peek(), "in")) {
          Next();
          absl::StatusOr<v1::Filter> f = In(key, *field);
          if (!f.ok()) return f;
          return MakeBool(v1::BoolFilter::NOT, {*std::move(f)});
        }
        break;
      default:
        break;
    }
    return ErrorAt(op.column, absl::StrCat("expected an operator (=, !=, <, <=, >, >=, =~, in, "
                                           "is null) after ",
                                           key.text, ", got ", Describe(op)));
  }

  static v1::Filter NullOf(const std::string& key) {
    v1::Filter f;
    f.mutable_nullfilter()->set_key(key);
    return f;
  }

  absl::StatusOr<v1::Filter> Term(const Token& key, const FieldInfo& field) {
    const Token v = Next();
    v1::Filter f;
    if (v.kind == Tok::kString) {
      if (field.type != FieldType::kString) {
        return ErrorAt(v.column, absl::StrCat(key.text, " is an integer key: compare it with a ",
                                              "number, not '", v.text, "'"));
      }
      f.mutable_termstringfilter()->set_key(key.text);
      f.mutable_termstringfilter()->set_value(v.text);
    } else if (v.kind == Tok::kInt) {
      if (field.type != FieldType::kInt) {
        return ErrorAt(
            v.column, absl::StrCat(key.text, " is a string key: quote the value ('", v.text, "')"));
      }
      f.mutable_termint64filter()->set_key(key.text);
      f.mutable_termint64filter()->set_value(v.number);
    } else if (IsKeyword(v, "true") || IsKeyword(v, "false")) {
      // No Flow key is boolean (as in Skydive); the message says what the key is.
      return ErrorAt(
          v.column,
          absl::StrCat(key.text, " is ", field.type == FieldType::kInt ? "an integer" : "a string",
                       " key, not a boolean"));
    } else {
      return ErrorAt(v.column, absl::StrCat("expected a value ('text', a number, true or false), "
                                            "got ",
                                            Describe(v)));
    }
    return f;
  }

  absl::StatusOr<v1::Filter> Range(const Token& key, const FieldInfo& field, const Token& op) {
    const Token v = Next();
    if (field.type != FieldType::kInt) {
      return ErrorAt(op.column, absl::StrCat("'", op.text, "' needs an integer key; ", key.text,
                                             " is a string key"));
    }
    if (v.kind != Tok::kInt) {
      return ErrorAt(v.column, absl::StrCat("'", op.text, "' needs a number, got ", Describe(v)));
    }
    v1::Filter f;
    switch (op.kind) {
      case Tok::kLt:
        f.mutable_ltint64filter()->set_key(key.text);
        f.mutable_ltint64filter()->set_value(v.number);
        break;
      case Tok::kLe:
        f.mutable_lteint64filter()->set_key(key.text);
        f.mutable_lteint64filter()->set_value(v.number);
        break;
      case Tok::kGt:
        f.mutable_gtint64filter()->set_key(key.text);
        f.mutable_gtint64filter()->set_value(v.number);
        break;
      default:
        f.mutable_gteint64filter()->set_key(key.text);
        f.mutable_gteint64filter()->set_value(v.number);
        break;
    }
    return f;
  }

  absl::StatusOr<v1::Filter> In(const Token& key, const FieldInfo& field) {
    const Token open = Next();
    if (open.kind != Tok::kLParen) {
      return ErrorAt(open.column, absl::StrCat("expected '(' after 'in', got ", Describe(open)));
    }
    std::vector<v1::Filter> members;
    while (true) {
      absl::StatusOr<v1::Filter> term = Term(key, field);
      if (!term.ok()) return term;
      members.push_back(*std::move(term));
      const Token sep = Next();
      if (sep.kind == Tok::kRParen) break;
      if (sep.kind != Tok::kComma) {
        return ErrorAt(sep.column, absl::StrCat("expected ',' or ')', got ", Describe(sep)));
      }
    }
    if (members.size() == 1) return std::move(members[0]);
    return MakeBool(v1::BoolFilter::OR, std::move(members));
  }

  std::vector<Token> toks_;
  size_t pos_ = 0;
};

}  // namespace

absl::StatusOr<v1::Filter> ParseFilterExpression(absl::string_view text) {
  absl::StatusOr<std::vector<Token>> tokens = Lex(text);
  if (!tokens.ok()) return tokens.status();
  return Parser(*std::move(tokens)).Parse();
}

}  // namespace skyprobe::query
