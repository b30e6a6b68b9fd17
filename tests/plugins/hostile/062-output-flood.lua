-- hostile: print 10 MB
-- expect: ok
-- output: "output truncated"
for i = 1, 100000 do
  print(("spam "):rep(20))
end
