// filter_expr.cc: a hand-written lexer and recursive-descent parser. Keys and
// value types are checked here, against the field table, so that errors can
// point at a column; the structured-filter compiler checks them again for
// clients that send a Filter directly.

#include "query/filter_expr.h"

#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "query/filter_limits.h"
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

// One token at a time, so that the memory a parse takes is bounded by the
// filter it builds (itself bounded by the limits), not by the text's length.
class Lexer {
 public:
  explicit Lexer(absl::string_view in) : in_(in) {}

  // The next token; kEnd at the end (again and again); kEnd too after an
  // error, which status() then holds.
  Token Next() {
    Token t;
    if (!status_.ok()) {
      t.column = in_.size() + 1;
      return t;
    }
    absl::StatusOr<Token> lexed = Lex();
    if (lexed.ok()) return *std::move(lexed);
    status_ = lexed.status();
    t.column = in_.size() + 1;
    return t;
  }

  const absl::Status& status() const { return status_; }

 private:
  absl::StatusOr<Token> Lex() {
    const absl::string_view in = in_;
    size_t& i = pos_;
    auto is_name_start = [](char c) { return absl::ascii_isalpha(c) || c == '_'; };
    auto is_name_char = [](char c) { return absl::ascii_isalnum(c) || c == '_' || c == '.'; };
    while (i < in.size() && absl::ascii_isspace(in[i])) ++i;
    Token t;
    t.column = i + 1;
    if (i >= in.size()) return t;  // kEnd
    const char c = in[i];
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
        return ErrorAt(t.column, absl::StrCat("'", Excerpt(t.text), "' is not a 64-bit integer"));
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
    return t;
  }

  absl::string_view in_;
  size_t pos_ = 0;
  absl::Status status_;
};

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
    default:  // a string, a word, a number, an operator: as written
      return absl::StrCat("'", Excerpt(t.text), "'");
  }
}

v1::Filter MakeBool(v1::BoolFilter::BoolOp op, std::vector<v1::Filter> members) {
  v1::Filter f;
  v1::BoolFilter* b = f.mutable_boolfilter();
  b->set_op(op);
  for (v1::Filter& m : members) *b->add_filters() = std::move(m);
  return f;
}

// A parsed piece and its depth (Filter levels, a condition is 1).
struct Sub {
  v1::Filter filter;
  int depth = 1;
};

// The parser enforces the limits of filter_limits.h as it goes, before
// building what breaks them: parentheses and 'not' nest at most
// kMaxFilterDepth deep (the recursion is bounded), the Filter it builds is at
// most kMaxFilterDepth levels deep and holds at most kMaxFilterTerms messages.
class Parser {
 public:
  explicit Parser(absl::string_view text) : lexer_(text) { cur_ = lexer_.Next(); }

  absl::StatusOr<v1::Filter> Parse() {
    absl::StatusOr<v1::Filter> f = ParseAll();
    // A lexing error explains whatever the parser then tripped on.
    if (!lexer_.status().ok()) return lexer_.status();
    return f;
  }

 private:
  absl::StatusOr<v1::Filter> ParseAll() {
    if (Peek().kind == Tok::kEnd) return v1::Filter();
    absl::StatusOr<Sub> f = Or();
    if (!f.ok()) return f.status();
    if (Peek().kind != Tok::kEnd) {
      return ErrorAt(Peek().column,
                     absl::StrCat("expected 'and', 'or' or the end, got ", Describe(Peek())));
    }
    return std::move(f->filter);
  }

  const Token& Peek() const { return cur_; }
  Token Next() {
    Token t = std::move(cur_);
    cur_ = t.kind == Tok::kEnd ? t : lexer_.Next();
    return t;
  }

  // Counts `n` more Filter messages.
  absl::Status AddTerms(int n, size_t column) {
    terms_ += n;
    if (terms_ <= kMaxFilterTerms) return absl::OkStatus();
    return ErrorAt(column, absl::StrCat("more than ", kMaxFilterTerms,
                                        " terms (conditions, in-list values and the and/or/not "
                                        "between them; the limit is ",
                                        kMaxFilterTerms, ")"));
  }

  static absl::Status DepthError(size_t column) {
    return ErrorAt(column, absl::StrCat("and/or/not nested more than ", kMaxFilterDepth,
                                        " levels deep (the limit is ", kMaxFilterDepth, ")"));
  }

  // `members` under one boolean operator (one member stays as it is).
  absl::StatusOr<Sub> Combine(v1::BoolFilter::BoolOp op, std::vector<Sub> members, size_t column) {
    if (members.size() == 1) return std::move(members[0]);
    int depth = 0;
    std::vector<v1::Filter> filters;
    filters.reserve(members.size());
    for (Sub& m : members) {
      depth = std::max(depth, m.depth);
      filters.push_back(std::move(m.filter));
    }
    if (absl::Status s = AddTerms(1, column); !s.ok()) return s;
    if (depth + 1 > kMaxFilterDepth) return DepthError(column);
    return Sub{MakeBool(op, std::move(filters)), depth + 1};
  }

  absl::StatusOr<Sub> Not(Sub inner, size_t column) {
    if (absl::Status s = AddTerms(1, column); !s.ok()) return s;
    if (inner.depth + 1 > kMaxFilterDepth) return DepthError(column);
    std::vector<v1::Filter> one;
    one.push_back(std::move(inner.filter));
    return Sub{MakeBool(v1::BoolFilter::NOT, std::move(one)), inner.depth + 1};
  }

  absl::StatusOr<Sub> Or() {
    const size_t column = Peek().column;
    std::vector<Sub> members;
    do {
      absl::StatusOr<Sub> f = And();
      if (!f.ok()) return f;
      members.push_back(*std::move(f));
    } while (IsKeyword(Peek(), "or") && (Next(), true));
    return Combine(v1::BoolFilter::OR, std::move(members), column);
  }

  absl::StatusOr<Sub> And() {
    const size_t column = Peek().column;
    std::vector<Sub> members;
    do {
      absl::StatusOr<Sub> f = Unary();
      if (!f.ok()) return f;
      members.push_back(*std::move(f));
    } while (IsKeyword(Peek(), "and") && (Next(), true));
    return Combine(v1::BoolFilter::AND, std::move(members), column);
  }

  absl::StatusOr<Sub> Unary() {
    const bool is_not = IsKeyword(Peek(), "not");
    if (!is_not && Peek().kind != Tok::kLParen) return Condition();
    const size_t column = Peek().column;
    // The only recursion of the grammar goes through here: bound it before
    // the stack is at risk.
    if (nesting_ >= kMaxFilterDepth) {
      return ErrorAt(column, absl::StrCat("more than ", kMaxFilterDepth,
                                          " nested parentheses or 'not' (the limit is ",
                                          kMaxFilterDepth, ")"));
    }
    ++nesting_;
    Next();
    absl::StatusOr<Sub> f = is_not ? Unary() : Or();
    --nesting_;
    if (!f.ok()) return f;
    if (is_not) return Not(*std::move(f), column);
    if (Peek().kind != Tok::kRParen) {
      return ErrorAt(Peek().column, absl::StrCat("expected ')', got ", Describe(Peek())));
    }
    Next();
    return f;
  }

  absl::StatusOr<Sub> Condition() {
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
        absl::StatusOr<Sub> term = Term(key, *field);
        if (!term.ok() || op.kind == Tok::kEq) return term;
        // Skydive's Ne: the key is present and differs.
        absl::StatusOr<Sub> present = Not(NullOf(key.text), key.column);
        if (!present.ok()) return present;
        absl::StatusOr<Sub> differs = Not(*std::move(term), key.column);
        if (!differs.ok()) return differs;
        if (absl::Status s = AddTerms(1, key.column); !s.ok()) return s;  // the NullFilter
        std::vector<Sub> both;
        both.push_back(*std::move(present));
        both.push_back(*std::move(differs));
        return Combine(v1::BoolFilter::AND, std::move(both), key.column);
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
        if (++regexes_ > kMaxFilterRegexes) {
          return ErrorAt(v.column, absl::StrCat("more than ", kMaxFilterRegexes,
                                                " regular expressions (=~; the limit is ",
                                                kMaxFilterRegexes, ")"));
        }
        RE2 re(v.text, FilterRegexOptions());
        if (!re.ok()) {
          return ErrorAt(v.column, absl::StrCat("bad regular expression '", Excerpt(v.text),
                                                "': ", Excerpt(re.error())));
        }
        if (absl::Status s = AddTerms(1, key.column); !s.ok()) return s;
        Sub f;
        f.filter.mutable_regexfilter()->set_key(key.text);
        f.filter.mutable_regexfilter()->set_value(v.text);
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
          if (absl::Status s = AddTerms(1, key.column); !s.ok()) return s;
          Sub f = NullOf(key.text);
          if (negate) return Not(std::move(f), key.column);
          return f;
        }
        if (IsKeyword(op, "in")) return In(key, *field);
        if (IsKeyword(op, "not") && IsKeyword(Peek(), "in")) {
          Next();
          absl::StatusOr<Sub> f = In(key, *field);
          if (!f.ok()) return f;
          return Not(*std::move(f), key.column);
        }
        break;
      default:
        break;
    }
    return ErrorAt(op.column, absl::StrCat("expected an operator (=, !=, <, <=, >, >=, =~, in, "
                                           "is null) after ",
                                           key.text, ", got ", Describe(op)));
  }

  static Sub NullOf(const std::string& key) {
    Sub f;
    f.filter.mutable_nullfilter()->set_key(key);
    return f;
  }

  absl::StatusOr<Sub> Term(const Token& key, const FieldInfo& field) {
    const Token v = Next();
    Sub f;
    if (v.kind == Tok::kString) {
      if (field.type != FieldType::kString) {
        return ErrorAt(v.column, absl::StrCat(key.text, " is an integer key: compare it with a ",
                                              "number, not '", Excerpt(v.text), "'"));
      }
      f.filter.mutable_termstringfilter()->set_key(key.text);
      f.filter.mutable_termstringfilter()->set_value(v.text);
    } else if (v.kind == Tok::kInt) {
      if (field.type != FieldType::kInt) {
        return ErrorAt(v.column, absl::StrCat(key.text, " is a string key: quote the value ('",
                                              Excerpt(v.text), "')"));
      }
      f.filter.mutable_termint64filter()->set_key(key.text);
      f.filter.mutable_termint64filter()->set_value(v.number);
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
    if (absl::Status s = AddTerms(1, v.column); !s.ok()) return s;
    return f;
  }

  absl::StatusOr<Sub> Range(const Token& key, const FieldInfo& field, const Token& op) {
    const Token v = Next();
    if (field.type != FieldType::kInt) {
      return ErrorAt(op.column, absl::StrCat("'", op.text, "' needs an integer key; ", key.text,
                                             " is a string key"));
    }
    if (v.kind != Tok::kInt) {
      return ErrorAt(v.column, absl::StrCat("'", op.text, "' needs a number, got ", Describe(v)));
    }
    if (absl::Status s = AddTerms(1, key.column); !s.ok()) return s;
    Sub sub;
    v1::Filter& f = sub.filter;
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
    return sub;
  }

  absl::StatusOr<Sub> In(const Token& key, const FieldInfo& field) {
    const Token open = Next();
    if (open.kind != Tok::kLParen) {
      return ErrorAt(open.column, absl::StrCat("expected '(' after 'in', got ", Describe(open)));
    }
    std::vector<Sub> members;
    while (true) {
      if (members.size() == static_cast<size_t>(kMaxInValues)) {
        return ErrorAt(Peek().column,
                       absl::StrCat("more than ", kMaxInValues,
                                    " values in one 'in' list (the limit is ", kMaxInValues, ")"));
      }
      absl::StatusOr<Sub> term = Term(key, field);
      if (!term.ok()) return term;
      members.push_back(*std::move(term));
      const Token sep = Next();
      if (sep.kind == Tok::kRParen) break;
      if (sep.kind != Tok::kComma) {
        return ErrorAt(sep.column, absl::StrCat("expected ',' or ')', got ", Describe(sep)));
      }
    }
    return Combine(v1::BoolFilter::OR, std::move(members), open.column);
  }

  Lexer lexer_;
  Token cur_;
  int nesting_ = 0;  // parentheses and 'not' open around the current token
  int terms_ = 0;    // Filter messages built so far
  int regexes_ = 0;
};

}  // namespace

absl::StatusOr<v1::Filter> ParseFilterExpression(absl::string_view text) {
  return Parser(text).Parse();
}

}  // namespace skyprobe::query
