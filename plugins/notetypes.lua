-- The built-in note types: SOAP, DAP, BIRP and GIRP.
--
-- They share the frame of every note (client, session, clinician, diagnoses,
-- the risk and safety section, homework, the alliance checklist and the
-- measures) and differ in their clinical sections. A clinic replaces one by
-- registering a note type of the same id in its own plugins/, or only its
-- layout by putting templates/<id>.md.mustache in its workspace.

local common_head = {
  { id = "client.id", type = "string", required = true, label = "Client ID", example = "C-1042" },
  { id = "client.initials", type = "string", required = true, label = "Client initials", example = "J.D." },
  { id = "session.date", type = "date", required = true, label = "Date of the session", example = "2026-11-24" },
  { id = "session.number", type = "integer", min = 1, label = "Session number", example = 7 },
  { id = "session.minutes", type = "integer", min = 1, max = 600, label = "Length in minutes", example = 50 },
  {
    id = "session.modality",
    type = "enum",
    values = { "in_person", "video", "phone" },
    default = "in_person",
    label = "How the session took place",
  },
  { id = "clinician.name", type = "string", required = true, label = "Clinician", example = "Dana Whitfield" },
  { id = "clinician.credentials", type = "string", label = "Credentials", example = "LCSW" },
}

local common_tail = {
  {
    id = "diagnoses",
    type = "list",
    label = "Diagnoses (ICD-10)",
    items = {
      type = "object",
      fields = {
        { id = "code", type = "string", required = true, label = "ICD-10 code", example = "F41.1" },
        { id = "label", type = "string", label = "Description", example = "Generalized anxiety disorder" },
      },
    },
  },
  {
    id = "risk.level",
    type = "enum",
    values = { "none", "low", "moderate", "high" },
    required = true,
    label = "Risk level (high needs a safety plan)",
  },
  { id = "risk.notes", type = "text", label = "Risk assessment notes" },
  { id = "risk.safety_plan", type = "text", label = "Safety plan" },
  { id = "homework", type = "list", items = { type = "text" }, label = "Homework agreed" },
}

-- A note type's fields: the common head, its own sections, the common tail.
local function fields(sections)
  local list = {}
  for _, f in ipairs(common_head) do
    list[#list + 1] = f
  end
  for _, s in ipairs(sections) do
    list[#list + 1] = { id = s[1], type = "text", required = true, label = s[2] }
  end
  for _, f in ipairs(common_tail) do
    list[#list + 1] = f
  end
  return list
end

-- Risk rules shared by every note type.
local function validate_risk(note)
  local problems = {}
  local risk = note.risk or {}
  if risk.level == "high" and (risk.safety_plan == nil or risk.safety_plan == "") then
    problems[#problems + 1] = { field = "risk.safety_plan", message = "a high risk level needs a safety plan" }
  end
  return problems
end

local types = {
  {
    id = "soap",
    title = "SOAP note",
    sections = {
      { "subjective", "Subjective: what the client reports" },
      { "objective", "Objective: what you observed" },
      { "assessment", "Assessment: your clinical impression" },
      { "plan", "Plan: next steps" },
    },
  },
  {
    id = "dap",
    title = "DAP note",
    sections = {
      { "data", "Data: what happened in the session" },
      { "assessment", "Assessment: your clinical impression" },
      { "plan", "Plan: next steps" },
    },
  },
  {
    id = "birp",
    title = "BIRP note",
    sections = {
      { "behavior", "Behavior: what the client presented" },
      { "intervention", "Intervention: what you did" },
      { "response", "Response: how the client responded" },
      { "plan", "Plan: next steps" },
    },
  },
  {
    id = "girp",
    title = "GIRP note",
    sections = {
      { "goals", "Goals: what the session worked toward" },
      { "intervention", "Intervention: what you did" },
      { "response", "Response: how the client responded" },
      { "plan", "Plan: next steps" },
    },
  },
}

for _, t in ipairs(types) do
  rapport.note_type {
    id = t.id,
    title = t.title,
    fields = fields(t.sections),
    checklists = { "alliance" },
    measures = { "srs", "ors", "wai_sr", "phq9", "gad7" },
    layout = t.id,
    validate = validate_risk,
  }
end

-- How a session took place, in words for the note ("in person", not the
-- value "in_person"); a value a clinic's own note type adds shows as it is.
local MODALITY_WORDS = { in_person = "in person", video = "video", phone = "phone" }
rapport.filter("modality", function(value)
  return MODALITY_WORDS[value] or value
end)

rapport.test("the modality filter writes words", function(t)
  t.eq(t.render("{{m | modality}}", { m = "in_person" }), "in person")
  t.eq(t.render("{{m | modality}}", { m = "boat" }), "boat")
end)

rapport.test("high risk needs a safety plan", function(t)
  t.eq(validate_risk({ risk = { level = "high" } }), {
    { field = "risk.safety_plan", message = "a high risk level needs a safety plan" },
  })
  t.eq(validate_risk({ risk = { level = "high", safety_plan = "call the crisis line" } }), {})
  t.eq(validate_risk({ risk = { level = "none" } }), {})
end)

rapport.test("every note type has the common frame and its own sections", function(t)
  local soap = fields(types[1].sections)
  t.eq(#soap, #common_head + 4 + #common_tail)
  t.eq(soap[#common_head + 1].id, "subjective")
  t.eq(soap[#common_head + 1].required, true)
end)

rapport.test("a complete SOAP session is valid", function(t)
  t.eq(t.validate("soap", {
    type = "soap",
    client = { id = "C-1042", initials = "J.D." },
    session = { date = "2026-11-24", number = 7, minutes = 50, modality = "video" },
    clinician = { name = "Dana Whitfield", credentials = "LCSW" },
    subjective = "Client reports sleeping better.",
    objective = "Affect congruent.",
    assessment = "Moderate progress.",
    plan = "Continue.",
    risk = { level = "none" },
    diagnoses = { { code = "F41.1", label = "Generalized anxiety disorder" } },
    homework = { "Sleep diary" },
  }), {})
end)

rapport.test("validation names each problem", function(t)
  t.eq(t.validate("dap", {
    client = { id = "C-1" },
    session = { date = "2026-02-30" },
    clinician = { name = "D" },
    data = "x",
    assessment = "x",
    plan = "x",
    risk = { level = "severe" },
  }), {
    "client.initials is required",
    "session.date must be a date written as YYYY-MM-DD, e.g. 2026-11-24",
    "risk.level must be none, low, moderate or high",
  })
end)
