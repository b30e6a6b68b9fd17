-- hostile: a test that fails with a table as its error
-- expect: error "(error object is a table value)" at line 4
rapport.test("throws a table", function()
  error({code = 42})  -- fails here
end)
