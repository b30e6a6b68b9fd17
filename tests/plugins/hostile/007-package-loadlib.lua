-- hostile: load liblua again to get a full io (Redis CVE-2022-0543)
-- expect: error "attempt to index a nil value (global 'package')" at line 3
local open = package.loadlib("/usr/lib/x86_64-linux-gnu/liblua5.4.so.0", "luaopen_io")  -- fails here
local io2 = open()
io2.popen("id")
