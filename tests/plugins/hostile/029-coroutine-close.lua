-- hostile: coroutine.close, which crashes 5.4.4 on nested coroutines
-- expect: error "attempt to call a nil value (field 'close')" at line 5
local co = coroutine.create(function() coroutine.yield() end)
coroutine.resume(co)
coroutine.close(co)  -- fails here
