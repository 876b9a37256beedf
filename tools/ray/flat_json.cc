#include "tools/ray/flat_json.h"

#include <nlohmann/json.hpp>

#include <cmath>
#include <set>

namespace ray::cli {

bool ParseFlatJson(const std::string& text, FlatJson* out, std::string* error) {
  using Json = nlohmann::json;
  out->clear();
  // nlohmann keeps the last of repeated keys; a flat config with one twice is a mistake.
  std::set<std::string> keys;
  std::string repeated;
  auto on_event = [&](int depth, Json::parse_event_t event, Json& parsed) {
    if (event == Json::parse_event_t::key && depth == 1) {
      std::string key = parsed.get<std::string>();
      if (!keys.insert(key).second && repeated.empty()) repeated = key;
    }
    return true;
  };
  Json json;
  try {
    json = Json::parse(text, on_event);
  } catch (const Json::parse_error& e) {
    std::string what = e.what();
    auto bracket = what.find("] ");  // drop "[json.exception.parse_error.101] "
    *error = bracket == std::string::npos ? what : what.substr(bracket + 2);
    return false;
  }
  if (!repeated.empty()) {
    *error = "key \"" + repeated + "\" appears twice";
    return false;
  }
  if (!json.is_object()) {
    *error = "expected a JSON object {\"name\": value, ...}";
    return false;
  }
  for (const auto& [key, v] : json.items()) {
    JsonValue value;
    if (v.is_number()) {
      value.kind = JsonValue::Kind::kNumber;
      value.number = v.get<double>();
    } else if (v.is_string()) {
      value.kind = JsonValue::Kind::kString;
      value.text = v.get<std::string>();
    } else if (v.is_boolean()) {
      value.kind = JsonValue::Kind::kBool;
      value.boolean = v.get<bool>();
    } else if (v.is_null()) {
      value.kind = JsonValue::Kind::kNull;
    } else {
      *error = "\"" + key + "\" must be a number, string, true, false or null (no objects or arrays)";
      return false;
    }
    (*out)[key] = value;
  }
  return true;
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
    if (!std::isfinite(value.number) || value.number < 0) {
      *error = "resource \"" + name + "\" must not be negative";
      return false;
    }
    (*out)[name] = value.number;
  }
  return true;
}

JsonWriter& JsonWriter::Add(const std::string& key, const std::string& value) {
  AddRaw(key, nlohmann::json(value).dump());
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
  body_ += (body_.empty() ? "\n  " : ",\n  ") + nlohmann::json(key).dump() + ": " + json;
}

}  // namespace ray::cli
