#include "tools/ray/flat_json.h"

#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace ray::cli {
namespace {

/// Cursor over the text being parsed; each Parse* returns false after setting error_.
class Parser {
 public:
  explicit Parser(const std::string& text) : text_(text) {}

  bool ParseObject(FlatJson* out) {
    SkipSpace();
    if (!Consume('{')) return Fail("expected '{'");
    SkipSpace();
    if (!Consume('}')) {
      do {
        SkipSpace();
        std::string key;
        if (!ParseString(&key)) return false;
        SkipSpace();
        if (!Consume(':')) return Fail("expected ':' after \"" + key + "\"");
        SkipSpace();
        JsonValue value;
        if (!ParseValue(key, &value)) return false;
        if (!out->emplace(key, value).second) return Fail("key \"" + key + "\" appears twice");
        SkipSpace();
      } while (Consume(','));
      if (!Consume('}')) {
        return Fail(pos_ < text_.size() ? "expected ',' or '}'" : "unterminated object");
      }
    }
    SkipSpace();
    if (pos_ != text_.size()) return Fail("unexpected text after '}'");
    return true;
  }

  const std::string& error() const { return error_; }

 private:
  bool ParseValue(const std::string& key, JsonValue* value) {
    char c = pos_ < text_.size() ? text_[pos_] : '\0';
    if (c == '"') {
      value->kind = JsonValue::Kind::kString;
      return ParseString(&value->text);
    }
    if (c == '{' || c == '[') {
      return Fail("\"" + key + "\": nested objects and arrays are not allowed");
    }
    for (const char* word : {"true", "false", "null"}) {
      if (text_.compare(pos_, strlen(word), word) == 0) {
        pos_ += strlen(word);
        value->kind = word[0] == 'n' ? JsonValue::Kind::kNull : JsonValue::Kind::kBool;
        value->boolean = word[0] == 't';
        return true;
      }
    }
    const char* begin = text_.c_str() + pos_;
    char* end = nullptr;
    value->number = std::strtod(begin, &end);
    // strtod also reads "inf", "nan" and hex, which JSON does not have.
    if (end == begin || !(c == '-' || isdigit(static_cast<unsigned char>(c))) ||
        std::string(begin, end - begin).find_first_of("xXiInN") != std::string::npos) {
      return Fail("\"" + key + "\": expected a number, string, true, false or null");
    }
    value->kind = JsonValue::Kind::kNumber;
    pos_ += end - begin;
    return true;
  }

  bool ParseString(std::string* out) {
    if (!Consume('"')) return Fail("expected a quoted name");
    while (pos_ < text_.size() && text_[pos_] != '"') {
      char c = text_[pos_++];
      if (c != '\\') {
        out->push_back(c);
        continue;
      }
      if (pos_ >= text_.size()) break;
      char e = text_[pos_++];
      if (e == 'u') {
        if (!ParseCodePoint(out)) return false;
        continue;
      }
      const char* from = "\"\\/bfnrt";
      const char* to = "\"\\/\b\f\n\r\t";
      const char* hit = std::strchr(from, e);
      if (hit == nullptr || e == '\0') return Fail(std::string("unsupported escape \\") + e);
      out->push_back(to[hit - from]);
    }
    if (!Consume('"')) return Fail("unterminated string");
    return true;
  }

  /// Reads the XXXX of \uXXXX and appends it as UTF-8 (surrogate pairs are refused).
  bool ParseCodePoint(std::string* out) {
    unsigned code = 0;
    for (int i = 0; i < 4; ++i, ++pos_) {
      char h = pos_ < text_.size() ? text_[pos_] : '\0';
      if (!isxdigit(static_cast<unsigned char>(h))) return Fail("bad \\u escape");
      code = code * 16 + (isdigit(static_cast<unsigned char>(h)) ? h - '0' : (h | 0x20) - 'a' + 10);
    }
    if (code >= 0xD800 && code <= 0xDFFF) return Fail("unsupported \\u surrogate");
    if (code < 0x80) {
      out->push_back(static_cast<char>(code));
    } else if (code < 0x800) {
      out->push_back(static_cast<char>(0xC0 | code >> 6));
      out->push_back(static_cast<char>(0x80 | (code & 0x3F)));
    } else {
      out->push_back(static_cast<char>(0xE0 | code >> 12));
      out->push_back(static_cast<char>(0x80 | (code >> 6 & 0x3F)));
      out->push_back(static_cast<char>(0x80 | (code & 0x3F)));
    }
    return true;
  }

  void SkipSpace() {
    while (pos_ < text_.size() && isspace(static_cast<unsigned char>(text_[pos_]))) ++pos_;
  }
  bool Consume(char c) {
    if (pos_ >= text_.size() || text_[pos_] != c) return false;
    ++pos_;
    return true;
  }
  bool Fail(const std::string& error) {
    error_ = error;
    return false;
  }

  const std::string& text_;
  size_t pos_ = 0;
  std::string error_;
};

std::string Quote(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (static_cast<unsigned char>(c) < 0x20) {
      char buf[8];
      snprintf(buf, sizeof(buf), "\\u%04x", c);
      out += buf;
    } else {
      out += c;
    }
  }
  return out + "\"";
}

}  // namespace

bool ParseFlatJson(const std::string& text, FlatJson* out, std::string* error) {
  Parser parser(text);
  if (parser.ParseObject(out)) return true;
  *error = parser.error();
  return false;
}

bool ParseResources(const std::string& text, std::map<std::string, double>* out,
                    std::string* error) {
  FlatJson json;
  if (!ParseFlatJson(text, &json, error)) return false;
  for (const auto& [name, value] : json) {
    if (value.kind != JsonValue::Kind::kNumber) {
      *error = "resource \"" + name + "\" must be a number";
      return false;
    }
    if (value.number < 0) {
      *error = "resource \"" + name + "\" must not be negative";
      return false;
    }
    (*out)[name] = value.number;
  }
  return true;
}

JsonWriter& JsonWriter::Add(const std::string& key, const std::string& value) {
  AddRaw(key, Quote(value));
  return *this;
}

JsonWriter& JsonWriter::Add(const std::string& key, long long value) {
  AddRaw(key, std::to_string(value));
  return *this;
}

JsonWriter& JsonWriter::Add(const std::string& key, bool value) {
  AddRaw(key, value ? "true" : "false");
  return *this;
}

void JsonWriter::AddRaw(const std::string& key, const std::string& json) {
  body_ += (body_.empty() ? "\n  " : ",\n  ") + Quote(key) + ": " + json;
}

}  // namespace ray::cli
