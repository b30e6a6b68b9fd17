-- The built-in note types: SOAP, DAP, BIRP and GIRP.
--
-- They share the frame of every note (client, session, clinician, diagnoses,
-- the risk and safety section, homework, the alliance checklist and the
-- measures) and differ in their clinical sections. A clinic replaces one by
-- registering a note type of the same id in its own plugins/, or only its
-- layout by putting templates/<id>.md.mustache in its workspace.
--
-- Beside the clinical sections, each holds what a chart needs: start and end
-- time, the service code (CPT, shown by number with our own short words:
-- CPT's descriptors are licensed), ICD-10-CM diagnoses with their titles from
-- plugins/icd10.lua, interventions, treatment-plan goals with progress, who
-- attended, the next appointment and an optional mental status exam.

local icd10 = require "icd10"

local M = {}

-- Service codes, with our own short words and the minutes each fits
-- (psychotherapy time rules; nil: no time rule).
M.CPT = {
  ["90791"] = { words = "diagnostic evaluation" },
  ["90832"] = { words = "psychotherapy, 30 minutes", min = 16, max = 37 },
  ["90834"] = { words = "psychotherapy, 45 minutes", min = 38, max = 52 },
  ["90837"] = { words = "psychotherapy, 60 minutes", min = 53 },
  ["90839"] = { words = "crisis psychotherapy, first 60 minutes", min = 30, max = 74 },
  ["90840"] = { words = "crisis psychotherapy, each further 30 minutes", min = 75 },
  ["90846"] = { words = "family psychotherapy without the client", min = 26 },
  ["90847"] = { words = "family psychotherapy with the client", min = 26 },
  ["90853"] = { words = "group psychotherapy" },
}
local CPT_CODES = { "90791", "90832", "90834", "90837", "90839", "90840", "90846", "90847", "90853" }
-- The individual psychotherapy codes, whose time decides between them.
local PSYCHOTHERAPY = { "90832", "90834", "90837" }

-- Interventions a note can list, in words. A clinic adds its own by
-- extending a note type with an `interventions` field of its own values.
M.INTERVENTIONS = {
  { "cognitive_restructuring", "cognitive restructuring" },
  { "behavioral_activation", "behavioral activation" },
  { "exposure", "exposure" },
  { "psychoeducation", "psychoeducation" },
  { "motivational_interviewing", "motivational interviewing" },
  { "mindfulness", "mindfulness" },
  { "relaxation_training", "relaxation training" },
  { "problem_solving", "problem solving" },
  { "safety_planning", "safety planning" },
  { "emdr", "EMDR" },
  { "dbt_skills", "DBT skills" },
  { "supportive_therapy", "supportive therapy" },
  { "family_systems", "family systems work" },
  { "play_therapy", "play therapy" },
  { "homework_review", "homework review" },
}
local INTERVENTION_IDS, INTERVENTION_WORDS = {}, {}
for i, pair in ipairs(M.INTERVENTIONS) do
  INTERVENTION_IDS[i], INTERVENTION_WORDS[pair[1]] = pair[1], pair[2]
end

local PROGRESS_IDS = { "new", "improving", "maintained", "no_change", "worsening", "met" }
local PROGRESS_WORDS = { no_change = "no change" }

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
  { id = "session.start", type = "string", label = "Start time, HH:MM", example = "14:00" },
  { id = "session.end", type = "string", label = "End time, HH:MM", example = "14:53" },
  { id = "clinician.name", type = "string", required = true, label = "Clinician", example = "Dana Whitfield" },
  { id = "clinician.credentials", type = "string", label = "Credentials", example = "LCSW" },
  { id = "service.code", type = "enum", values = CPT_CODES, label = "Service (CPT code)" },
  {
    id = "attendees",
    type = "list",
    items = { type = "text" },
    label = "Who attended",
  },
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
  {
    id = "interventions",
    type = "list",
    items = { type = "enum", values = INTERVENTION_IDS },
    label = "Interventions used",
  },
  {
    id = "treatment_goals",
    type = "list",
    label = "Treatment-plan goals",
    items = {
      type = "object",
      fields = {
        { id = "goal", type = "text", required = true, label = "Goal", example = "Sleep 7 hours most nights" },
        { id = "progress", type = "enum", values = PROGRESS_IDS, label = "Progress" },
        { id = "note", type = "text", label = "Note" },
      },
    },
  },
  { id = "next_appointment", type = "date", label = "Next appointment", example = "2026-12-01" },
  { id = "mse.appearance", type = "text", label = "Appearance" },
  { id = "mse.behavior", type = "text", label = "Behavior" },
  { id = "mse.speech", type = "text", label = "Speech" },
  { id = "mse.mood", type = "text", label = "Mood (in the client's words)" },
  { id = "mse.affect", type = "text", label = "Affect" },
  { id = "mse.thought_process", type = "text", label = "Thought process" },
  { id = "mse.thought_content", type = "text", label = "Thought content" },
  { id = "mse.perception", type = "text", label = "Perception" },
  { id = "mse.cognition", type = "text", label = "Cognition and orientation" },
  { id = "mse.insight", type = "text", label = "Insight" },
  { id = "mse.judgment", type = "text", label = "Judgment" },
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

-- Minutes since midnight of a time written HH:MM (24-hour clock), or nil.
local function minutes_of(text)
  local h, m = tostring(text or ""):match("^(%d%d?):(%d%d)$")
  h, m = tonumber(h), tonumber(m)
  if not h or h > 23 or m > 59 then
    return nil
  end
  return h * 60 + m
end
M.minutes_of = minutes_of

-- The psychotherapy code whose time fits `minutes`, or nil.
local function code_for(minutes)
  for _, code in ipairs(PSYCHOTHERAPY) do
    local c = M.CPT[code]
    if minutes >= c.min and (c.max == nil or minutes <= c.max) then
      return code
    end
  end
  return nil
end
M.code_for = code_for

-- The chart rules shared by every note type: times, the service code
-- against the session's length, ICD-10-CM codes, the next appointment.
-- Problems that still leave a usable note are warnings.
local function validate_chart(note, problems)
  local function add(field, message, warning)
    problems[#problems + 1] = { field = field, message = message, warning = warning or nil }
  end
  local session = note.session or {}
  local start, stop = minutes_of(session.start), minutes_of(session["end"])
  if session.start ~= nil and not start then
    add("session.start", "session.start must be a time written as HH:MM (24-hour clock), e.g. 14:00")
  end
  if session["end"] ~= nil and not stop then
    add("session.end", "session.end must be a time written as HH:MM (24-hour clock), e.g. 14:53")
  end
  local length = session.minutes
  if start and stop then
    if stop <= start then
      add("session.end", "session.end must be after session.start")
    else
      if length and length ~= stop - start then
        add("session.minutes", string.format(
          "session.minutes (%d) differs from the time between session.start and session.end (%d minutes)",
          length, stop - start), true)
      end
      length = stop - start
    end
  end
  local code = note.service and note.service.code
  local c = code and M.CPT[code]
  if c and length and c.min then
    if length < c.min or (c.max and length > c.max) then
      local range = c.max and string.format("%d to %d minutes", c.min, c.max)
        or string.format("%d minutes or more", c.min)
      local fits = code_for(length)
      local advice
      if fits and fits ~= code then
        advice = "; " .. fits .. " fits"
      elseif length < 16 then
        advice = "; under 16 minutes is not reported as psychotherapy"
      else
        advice = ""
      end
      add("service.code", string.format("service.code %s is for %s; this session lasted %d minutes%s",
        code, range, length, advice), true)
    end
  end
  for i, d in ipairs(note.diagnoses or {}) do
    local where = "diagnoses[" .. i .. "].code"
    if d.code ~= nil and not icd10.well_formed(d.code) then
      add(where, where .. " must be an ICD-10-CM code: a capital letter, two characters, and a point "
        .. "and up to four more, e.g. F41.1")
    elseif d.code ~= nil and not icd10.title(d.code) and not d.label then
      add(where, where .. " is not in Rapport's list of mental and behavioural codes; check it, or give "
        .. "its label (a clinic can add codes: see docs/plugins.md)", true)
    end
  end
  if note.next_appointment and session.date and note.next_appointment < session.date then
    add("next_appointment", "next_appointment is before session.date", true)
  end
  return problems
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

local function validate(note)
  return validate_chart(note, validate_risk(note))
end

-- Fills in what the chart shows from the codes: each diagnosis's title from
-- the ICD-10-CM list (a label typed in the session is kept).
local function compute(note)
  for _, d in ipairs(note.diagnoses or {}) do
    if d.code and not d.label then
      d.label = icd10.title(d.code)
    end
  end
  return note
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
    validate = validate,
    compute = compute,
  }
end

rapport.filter("cpt", function(code)
  local c = M.CPT[code]
  return c and (code .. " (" .. c.words .. ")") or code
end)

rapport.filter("intervention", function(id)
  return INTERVENTION_WORDS[id] or (type(id) == "string" and (id:gsub("_", " "))) or id
end)

rapport.filter("progress", function(id)
  return PROGRESS_WORDS[id] or id
end)

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
    "session.date is not a day of February 2026 (it has 28 days)",
    "risk.level must be none, low, moderate or high",
  })
end)

local SOAP = {
  type = "soap",
  client = { id = "C-1042", initials = "J.D." },
  session = { date = "2026-11-24", start = "14:00", ["end"] = "14:53", number = 7 },
  clinician = { name = "Dana Whitfield", credentials = "LCSW" },
  subjective = "s",
  objective = "o",
  assessment = "a",
  plan = "p",
  risk = { level = "none" },
}

local function with(changes)
  local s = {}
  for k, v in pairs(SOAP) do
    s[k] = v
  end
  for k, v in pairs(changes) do
    s[k] = v
  end
  return s
end

rapport.test("the service code is checked against the session's length", function(t)
  t.eq(t.validate("soap", with { service = { code = "90837" } }), {})
  t.eq(t.validate("soap", with { service = { code = "90834" } }), {
    "warning: service.code 90834 is for 38 to 52 minutes; this session lasted 53 minutes; 90837 fits",
  })
  t.eq(code_for(16), "90832")
  t.eq(code_for(37), "90832")
  t.eq(code_for(38), "90834")
  t.eq(code_for(52), "90834")
  t.eq(code_for(53), "90837")
  t.eq(code_for(15), nil)
  local short = with { service = { code = "90832" } }
  short.session = { date = "2026-11-24", start = "14:00", ["end"] = "14:10" }
  t.eq(t.validate("soap", short), {
    "warning: service.code 90832 is for 16 to 37 minutes; this session lasted 10 minutes; "
      .. "under 16 minutes is not reported as psychotherapy",
  })
  t.eq(t.validate("soap", with { service = { code = "90853" } }), {})
  t.eq(t.render("{{c | cpt}}", { c = "90837" }), "90837 (psychotherapy, 60 minutes)")
end)

rapport.test("times are HH:MM and the end comes after the start", function(t)
  local s = with {}
  s.session = { date = "2026-11-24", start = "2pm", ["end"] = "14:00", minutes = 50 }
  t.eq(t.validate("soap", s), { "session.start must be a time written as HH:MM (24-hour clock), e.g. 14:00" })
  s.session = { date = "2026-11-24", start = "14:00", ["end"] = "13:00" }
  t.eq(t.validate("soap", s), { "session.end must be after session.start" })
  s.session = { date = "2026-11-24", start = "14:00", ["end"] = "14:45", minutes = 50 }
  t.eq(t.validate("soap", s), {
    "warning: session.minutes (50) differs from the time between session.start and session.end (45 minutes)",
  })
end)

rapport.test("diagnoses: ICD-10-CM form, titles filled in, unknown codes warned", function(t)
  t.eq(t.validate("soap", with { diagnoses = { { code = "F41.1" }, { code = "Z63.0" } } }), {})
  t.eq(t.validate("soap", with { diagnoses = { { code = "F41.1" }, { code = "f411" } } }), {
    "diagnoses[2].code must be an ICD-10-CM code: a capital letter, two characters, and a point and "
      .. "up to four more, e.g. F41.1",
  })
  t.eq(#t.validate("soap", with { diagnoses = { { code = "F99.9" } } }), 1)
  t.eq(t.validate("soap", with { diagnoses = { { code = "F99.9", label = "Our own" } } }), {})
  local note = compute { diagnoses = { { code = "F41.1" }, { code = "F43.10", label = "PTSD" } } }
  t.eq(note.diagnoses[1].label, "Generalized anxiety disorder")
  t.eq(note.diagnoses[2].label, "PTSD")
end)

rapport.test("interventions, goals, attendees, next appointment and MSE are accepted", function(t)
  t.eq(t.validate("dap", {
    client = { id = "C-1", initials = "A.B." },
    session = { date = "2026-11-24" },
    clinician = { name = "D" },
    data = "d",
    assessment = "a",
    plan = "p",
    risk = { level = "low" },
    interventions = { "cognitive_restructuring", "psychoeducation" },
    treatment_goals = { { goal = "Sleep 7 hours", progress = "improving" } },
    attendees = { "client", "partner" },
    next_appointment = "2026-12-01",
    mse = { mood = "okay", affect = "congruent" },
  }), {})
  t.eq(t.validate("dap", {
    client = { id = "C-1", initials = "A.B." },
    session = { date = "2026-11-24" },
    clinician = { name = "D" },
    data = "d",
    assessment = "a",
    plan = "p",
    risk = { level = "low" },
    next_appointment = "2026-11-01",
  }), { "warning: next_appointment is before session.date" })
  t.eq(t.render("{{i | intervention}}", { i = "emdr" }), "EMDR")
  t.eq(t.render("{{p | progress}}", { p = "no_change" }), "no change")
end)

return M
