---@meta rapport

-- Annotations of Rapport's plugin API v1 for the Lua language server
-- (LuaLS), so that an editor completes and checks plugin code. This file is
-- never loaded by Rapport (CMakeLists.txt keeps plugins/meta/ out of the
-- built-in plugins): the API itself is made in C, in core/lua/api.c, and
-- docs/plugins.md documents it. The repository's .luarc.json points LuaLS
-- here; a clinic copies this file into its own workspace (see "Editor
-- support" in docs/plugins.md). Keep it in step with api.c: the end-to-end
-- test tests/e2e/test_plugins_doc.py compares the two.

---@alias rapport.FieldType
---| "text"     # free text, several lines
---| "string"   # one line of text, such as a code or a name
---| "integer"  # a whole number
---| "number"   # any number
---| "boolean"  # true or false
---| "date"     # YYYY-MM-DD
---| "datetime" # YYYY-MM-DDTHH:MM, optionally with :SS
---| "enum"     # one of `values`
---| "rating"   # a number from `min` to `max`
---| "list"     # a list whose elements are described by `items`
---| "object"   # a map whose keys are described by `fields`

---@alias rapport.ItemType
---| "rating" # rated from `min` to `max`
---| "flag"   # raised or not; a raised flag can suggest text for the plan
---| "text"   # free text

---@alias rapport.Event
---| "loaded"  # registered and checked now; not called yet
---| "session" # registered and checked now; called once notes render from sessions
---| "note"    # registered and checked now; called once notes render from sessions

---The element of a list field: a field without an id.
---@class rapport.ListItem
---@field type rapport.FieldType What the value is. Required.
---@field label? string A human name for forms, skeletons and messages.
---@field description? string A longer explanation.
---@field required? boolean The session file must give a value.
---@field default? string|number|boolean|table The value when the session file gives none.
---@field values? string[] The allowed values of an enum (required for "enum").
---@field min? number The lowest rating (required for "rating").
---@field max? number The highest rating (required for "rating"; min <= max).
---@field items? rapport.ListItem What each element of a list is (required for "list").
---@field fields? rapport.Field[] The fields of an object (required for "object").
---@field example? string|number|boolean A sample value for skeletons and help.

---A field of a note type's schema, or of an object field.
---@class rapport.Field : rapport.ListItem
---@field id string The key in the session file; unique among its siblings; not scores, checklists or note_type at the top level (Rapport fills those in). Required.

---The options of rapport.note_type.
---@class rapport.NoteTypeOptions
---@field id string 1 to 64 lowercase letters, digits and "_", starting with a letter; a session's `type:`. Required.
---@field title? string The name people see.
---@field description? string What the note type is for.
---@field fields? rapport.Field[] The session file's schema. Required unless the note type extends another.
---@field checklists? string[] Ids of the checklists this note type uses.
---@field measures? string[] Ids of the measures this note type uses.
---@field layout? string The name of the layout template.
---@field compute? rapport.ComputeFn Derives values; checked to be a function now, called once notes render from sessions.
---@field validate? rapport.ValidateFn Adds validation rules; checked to be a function now, called once notes render from sessions.
---@field extends? string The id of a note type registered before this one: its fields, checklists, measures, rules, compute and layout come first, this one's are added.

---A session as plugins see it: its fields typed by the note type (nested
---tables for dotted ids, absent fields nil), the checklists' and measures'
---answers as written, and `note_type` ({ id, title }).
---@alias rapport.Session table<string, any>

---A note: the session with what the host and plugins computed (`checklists`,
---`scores`, `note_type.checklists`, `note_type.measures`,
---`note_type.risk_flags`, `note_type.added_fields`).
---@alias rapport.Note table<string, any>

---A problem a validate rule reports: a message (at line 1), or one placed at
---the field's line and column; `warning = true` makes it a warning.
---@alias rapport.Problem string|{ field?: string, message: string, warning?: boolean }

---validate(session): the problems it finds, or nil (or {}) for none.
---@alias rapport.ValidateFn fun(session: rapport.Session): rapport.Problem[]?

---compute(note): changes the note in place and returns nothing, or returns
---the note to use instead.
---@alias rapport.ComputeFn fun(note: rapport.Note): rapport.Note?

---summarize(answers): the checklist's answers as the session writes them
---(item id to answer; a rating alone or { rating, note }, a flag alone or
---{ noticed, note, plan }) to a summary table for the note. Rapport adds
---`id`, `title` and `answers` to it; `flags` and `plan` (lists of text) are
---shown by the built-in layouts, and `summary` (text) as its first line.
---@alias rapport.SummarizeFn fun(answers: table<string, any>): { summary?: string, flags?: string[], plan?: string[], [string]: any }

---An event handler: `loaded` gets nothing; `session` gets the session and
---`note` the note, each may change it in place or return the table to use
---instead (nil keeps it).
---@alias rapport.Handler fun(value?: rapport.Session|rapport.Note): (rapport.Session|rapport.Note)?

---An item of a checklist.
---@class rapport.ChecklistItem
---@field id string The key in the session file. Required.
---@field label? string The name people see.
---@field description? string What the item means.
---@field type? rapport.ItemType How the item is answered.
---@field min? number The lowest rating.
---@field max? number The highest rating.
---@field note? boolean The item takes an optional note.
---@field suggest? string Text suggested into the plan when the item is flagged.
---@field group? string The key the answer sits under in a session (e.g. "challenges").

---The options of rapport.checklist.
---@class rapport.ChecklistOptions
---@field id string 1 to 64 lowercase letters, digits and "_", starting with a letter. Required.
---@field title? string The name people see.
---@field description? string What the checklist is for.
---@field items rapport.ChecklistItem[] The items, in order. Required.
---@field summarize? rapport.SummarizeFn Sums up a session's answers; checked to be a function now, called once notes render from sessions.

---A cutoff of a measure.
---@class rapport.Cutoff
---@field below? number Applies when the score is below this.
---@field at_least? number Applies when the score is this or more.
---@field flag? string The flag raised when the cutoff applies.
---@field label? string A short description of the cutoff.
---@field subscale? string The subscale the cutoff reads; the total when absent.
---@field item? integer The item whose score the cutoff reads (e.g. PHQ-9 item 9).
---@field risk? boolean The flag also goes to the note's risk section.
---@field source? string Where the cutoff comes from.

---A named range of a measure's total.
---@class rapport.Band
---@field min number The lowest total of the band.
---@field max number The highest total of the band.
---@field label string The band's name, e.g. "moderate".

---What a measure's score function returns; Rapport checks its shape.
---@class rapport.Score
---@field total number The total score.
---@field subscales? table<string, number> Each subscale's score.
---@field flags? string[] Flags to show in the note.

---The options of rapport.measure.
---@class rapport.MeasureOptions
---@field id string 1 to 64 lowercase letters, digits and "_", starting with a letter. Required.
---@field title? string The name people see.
---@field description? string What the measure is.
---@field items integer How many items the measure has. Required.
---@field min number The lowest score of an item. Required.
---@field max number The highest score of an item. Required.
---@field subscales? table<string, integer[]> Subscale name to its item numbers (1-based).
---@field cutoffs? rapport.Cutoff[] Thresholds that raise flags; applied by Rapport after scoring.
---@field bands? rapport.Band[] Named ranges of the total.
---@field precision? integer Decimals the total and subscales are rounded to, 0 to 6 (default 2).
---@field rci? number The reliable change index of the total.
---@field sources? string[] Where the scoring, cutoffs and RCI come from.
---@field item_labels? string[] Each item's wording, one per item.
---@field score? fun(items: number[]): rapport.Score Scores the item scores (already checked); without it the total is the sum of the items.

---The helpers a test function receives.
---@class rapport.T
local T = {}

---Passes when `actual` equals `expected`: tables are compared by content,
---to any depth; other values with `==` (no metamethods). Fails with
---"MESSAGE: expected X, got Y".
---@param actual any
---@param expected any
---@param message? string Put before the failure message.
function T.eq(actual, expected, message) end

---Passes when `value` is neither nil nor false.
---@param value any
---@param message? string The failure message instead of "expected a true value, got TYPE".
function T.ok(value, message) end

---Passes when `fn()` raises an error and, when `text` is given, the error
---message contains `text` (plain text, not a pattern).
---@param fn fun()
---@param text? string
function T.fails(fn, text) end

---Renders a Mustache template against `data` with the built-in filters and
---every plugin's filters and lambdas, escaping for HTML, and returns the text.
---A template with a mistake fails the test.
---@param template string
---@param data? table
---@return string
function T.render(template, data) end

---Validates `session` (a table shaped like a session file) against the note
---type `type` and returns the list of problems, {} when it is valid.
---@param type string A registered note type id, e.g. "soap".
---@param session table
---@return string[]
function T.validate(type, session) end

---The part of Lua's `os` library that the sandbox keeps: the clock and the
---calendar, nothing that reaches the system. (.luarc.json turns LuaLS's own
---`os` off, so that `os.execute` and `os.getenv` are flagged.)
---@class rapport.os
os = {}

---The time the plugins loaded (the same for every session of a run), or the
---time of the date in `date` (fields year, month, day, hour, min, sec,
---isdst), as a number of seconds.
---@param date? table
---@return integer
function os.time(date) end

---Formats `time` (default: the time the plugins loaded, as `os.time()`) as
---`os.date` does in Lua: "%Y-%m-%d", or "*t" / "!*t" for a table of fields.
---@param format? string
---@param time? integer
---@return string|table
function os.date(format, time) end

---The work the current session's plugin code has done, in seconds of a
---notional machine running 100 million Lua instructions a second; 0 when a
---session or test starts.
---@return number
function os.clock() end

---The plugin API: a global in every plugin, also `require "rapport"`.
---@class rapport
rapport = {}

---The API version, 1. It changes only when a change could break a plugin.
---@type integer
rapport.api = 1

---Rapport's own version, as text such as "0.1.0"; for messages, not for
---feature checks (use rapport.api).
---@type string
rapport.version = ""

---Registers a note type. Only while the plugin loads.
---@param options rapport.NoteTypeOptions
function rapport.note_type(options) end

---Registers a checklist. Only while the plugin loads.
---@param options rapport.ChecklistOptions
function rapport.checklist(options) end

---Registers a scored measure. Only while the plugin loads.
---@param options rapport.MeasureOptions
function rapport.measure(options) end

---Registers a template filter: `{{ value | name arg... }}`. The function gets
---the value (nil when missing) and the tag's arguments (text, or numbers as
---floats), and returns text, a number, a boolean, or nil for nothing. Only
---while the plugin loads.
---@param name string Letters, digits and "_", starting with a letter.
---@param fn fun(value: any, ...: string|number): (string|number|boolean|nil)
function rapport.filter(name, fn) end

---Registers a Mustache lambda: `{{name}}` calls `fn()`, and
---`{{#name}}text{{/name}}` calls `fn(text)` with the section's raw text. What
---it returns (text, a number, or nil/false for nothing) is rendered as a
---template. Only while the plugin loads.
---@param name string Letters, digits and "_", starting with a letter.
---@param fn fun(text?: string): (string|number|false|nil)
function rapport.lambda(name, fn) end

---Registers a handler for an event; every plugin's handlers run. Checked now,
---called once notes render from sessions. Only while the plugin loads.
---@param event rapport.Event
---@param fn rapport.Handler
function rapport.on(event, fn) end

---Marks `t` (or a new empty table) as a map and returns it, so that it is
---`{}`, not `[]`, in a note's JSON when it is empty. An error when `t` has a
---metatable of its own. Allowed at any time.
---@generic T: table
---@param t? T
---@return T
function rapport.map(t) end

---Registers a test, run by `rapport test`. Only while the plugin loads.
---@param name string 1 to 200 characters.
---@param fn fun(t: rapport.T)
function rapport.test(name, fn) end

return rapport
