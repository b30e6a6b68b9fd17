-- hostile: an endless loop in a __close handler
-- expect: error "instruction budget exceeded" at line 5
do
  local x <close> = setmetatable({}, {__close = function()
    while true do end  -- fails here
  end})
end
