// Flat JSON objects ({"name": value, ...} with number, string, bool or null
// values) for --resources, --internal-config and the node registry, read and
// written with nlohmann-json.
#ifndef RAY_TOOLS_RAY_FLAT_JSON_H_
#define RAY_TOOLS_RAY_FLAT_JSON_H_

#include <map>
#include <string>

namespace ray::cli {

/// One value of a flat object. `text` holds a string's decoded contents.
struct JsonValue {
  enum class Kind { kNumber, kString, kBool, kNull };
  Kind kind = Kind::kNull;
  double number = 0;
  bool boolean = false;
  std::string text;
};

using FlatJson = std::map<std::string, JsonValue>;

/// Parses `text` into `*out`; on failure returns false and sets `*error` to a
/// short reason. Nested objects and arrays are errors; a repeated key is too.
bool ParseFlatJson(const std::string& text, FlatJson* out, std::string* error);

/// Parses a JSON object of non-negative numbers (Ray's --resources format).
bool ParseResources(const std::string& text, std::map<std::string, double>* out,
                    std::string* error);

/// Builds a flat JSON object in insertion order, escaping strings.
class JsonWriter {
 public:
  JsonWriter& Add(const std::string& key, const std::string& value);
  JsonWriter& Add(const std::string& key, const char* value) {
    return Add(key, std::string(value));
  }
  JsonWriter& Add(const std::string& key, long long value);
  JsonWriter& Add(const std::string& key, bool value);
  /// The object, one member a line, with a trailing newline.
  std::string Finish() const { return "{" + body_ + (body_.empty() ? "" : "\n") + "}\n"; }

 private:
  void AddRaw(const std::string& key, const std::string& json);
  std::string body_;
};

}  // namespace ray::cli

#endif  // RAY_TOOLS_RAY_FLAT_JSON_H_
