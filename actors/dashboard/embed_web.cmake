# Writes OUTPUT, a C++ file defining kAppHtml and kLoginHtml from APP and
# LOGIN (the dashboard's pages, embedded in the binary).
file(READ "${APP}" app)
file(READ "${LOGIN}" login)
file(WRITE "${OUTPUT}.tmp"
  "// Generated from actors/dashboard/web by embed_web.cmake: do not edit.\n"
  "namespace ray::dashboard {\n"
  "extern const char kAppHtml[];\nextern const char kLoginHtml[];\n"
  "const char kAppHtml[] = R\"RAYWEB(${app})RAYWEB\";\n"
  "const char kLoginHtml[] = R\"RAYWEB(${login})RAYWEB\";\n"
  "}  // namespace ray::dashboard\n")
file(COPY_FILE "${OUTPUT}.tmp" "${OUTPUT}" ONLY_IF_DIFFERENT)
