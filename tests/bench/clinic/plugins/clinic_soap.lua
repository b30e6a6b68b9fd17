-- The clinic's SOAP note: the fields of the built-in SOAP note type, copied,
-- with a validation rule and a computed billing line of its own.
local head = {
  { id = "client.id", type = "string", required = true, label = "Client ID" },
  { id = "client.initials", type = "string", required = true, label = "Client initials" },
  { id = "session.date", type = "date", required = true, label = "Date of the session" },
  { id = "session.number", type = "integer", min = 1, label = "Session number" },
  { id = "session.minutes", type = "integer", min = 1, max = 600, label = "Length in minutes" },
  { id = "session.modality", type = "enum", values = { "in_person", "video", "phone" },
    default = "in_person", label = "How the session took place" },
  { id = "clinician.name", type = "string", required = true, label = "Clinician" },
  { id = "clinician.credentials", type = "string", label = "Credentials" },
  { id = "subjective", type = "text", required = true, label = "Subjective" },
  { id = "objective", type = "text", required = true, label = "Objective" },
  { id = "assessment", type = "text", required = true, label = "Assessment" },
  { id = "plan", type = "text", required = true, label = "Plan" },
  { id = "diagnoses", type = "list", label = "Diagnoses (ICD-10)", items = { type = "object", fields = {
    { id = "code", type = "string", required = true, label = "ICD-10 code" },
    { id = "label", type = "string", label = "Description" },
  } } },
  { id = "risk.level", type = "enum", values = { "none", "low", "moderate", "high" }, required = true,
    label = "Risk level" },
  { id = "risk.notes", type = "text", label = "Risk assessment notes" },
  { id = "risk.safety_plan", type = "text", label = "Safety plan" },
  { id = "homework", type = "list", items = { type = "text" }, label = "Homework agreed" },
}

local function validate(note)
  local problems = {}
  local risk = note.risk or {}
  if risk.level == "high" and (risk.safety_plan == nil or risk.safety_plan == "") then
    problems[#problems + 1] = { field = "risk.safety_plan", message = "a high risk level needs a safety plan" }
  end
  if risk.level ~= "none" and (risk.notes == nil or risk.notes == "") then
    problems[#problems + 1] = { field = "risk.notes", message = "a risk level other than none needs notes" }
  end
  return problems
end

local function compute(note)
  local codes = {}
  for _, d in ipairs(note.diagnoses or {}) do
    codes[#codes + 1] = d.code
  end
  note.billing = {
    codes = table.concat(codes, ", "),
    minutes = note.session.minutes,
  }
  return note
end

rapport.note_type {
  id = "soap",
  title = "SOAP note",
  fields = head,
  checklists = { "alliance" },
  measures = { "wai_sr", "srs", "ors" },
  layout = "soap",
  validate = validate,
  compute = compute,
}
