-- ICD-10-CM codes a therapist charts: mental, behavioural and
-- neurodevelopmental disorders (chapter 5, F01-F99) and the Z codes for
-- circumstances that bring people to therapy. ICD-10-CM is published by the
-- US National Center for Health Statistics (CDC) and is in the public
-- domain; the titles here are shortened where the full title is long.
--
-- The list is a selection, not the whole chapter: a code that is not here
-- is warned about, not refused. A clinic adds its own codes from a plugin:
--   require("icd10").add { ["F43.81"] = "Prolonged grief disorder" }
-- (the plugin is run again for every session, so the codes are added
-- again each time, before any note is made).

local M = {}

M.TITLES = {
  ["F01.50"] = "Vascular dementia, unspecified severity, without behavioral disturbance",
  ["F03.90"] = "Unspecified dementia, unspecified severity, without behavioral disturbance",
  ["F06.30"] = "Mood disorder due to known physiological condition, unspecified",
  ["F06.4"] = "Anxiety disorder due to known physiological condition",
  ["F07.81"] = "Postconcussional syndrome",
  ["F10.10"] = "Alcohol abuse, uncomplicated",
  ["F10.20"] = "Alcohol dependence, uncomplicated",
  ["F10.21"] = "Alcohol dependence, in remission",
  ["F11.10"] = "Opioid abuse, uncomplicated",
  ["F11.20"] = "Opioid dependence, uncomplicated",
  ["F11.21"] = "Opioid dependence, in remission",
  ["F12.10"] = "Cannabis abuse, uncomplicated",
  ["F12.20"] = "Cannabis dependence, uncomplicated",
  ["F12.21"] = "Cannabis dependence, in remission",
  ["F13.10"] = "Sedative, hypnotic or anxiolytic abuse, uncomplicated",
  ["F13.20"] = "Sedative, hypnotic or anxiolytic dependence, uncomplicated",
  ["F14.10"] = "Cocaine abuse, uncomplicated",
  ["F14.20"] = "Cocaine dependence, uncomplicated",
  ["F15.10"] = "Other stimulant abuse, uncomplicated",
  ["F15.20"] = "Other stimulant dependence, uncomplicated",
  ["F17.210"] = "Nicotine dependence, cigarettes, uncomplicated",
  ["F19.10"] = "Other psychoactive substance abuse, uncomplicated",
  ["F19.20"] = "Other psychoactive substance dependence, uncomplicated",
  ["F20.0"] = "Paranoid schizophrenia",
  ["F20.9"] = "Schizophrenia, unspecified",
  ["F21"] = "Schizotypal disorder",
  ["F22"] = "Delusional disorders",
  ["F23"] = "Brief psychotic disorder",
  ["F25.0"] = "Schizoaffective disorder, bipolar type",
  ["F25.1"] = "Schizoaffective disorder, depressive type",
  ["F25.9"] = "Schizoaffective disorder, unspecified",
  ["F29"] = "Unspecified psychosis not due to a substance or known physiological condition",
  ["F30.10"] = "Manic episode without psychotic symptoms, unspecified",
  ["F31.0"] = "Bipolar disorder, current episode hypomanic",
  ["F31.30"] = "Bipolar disorder, current episode depressed, mild or moderate severity, unspecified",
  ["F31.81"] = "Bipolar II disorder",
  ["F31.9"] = "Bipolar disorder, unspecified",
  ["F32.0"] = "Major depressive disorder, single episode, mild",
  ["F32.1"] = "Major depressive disorder, single episode, moderate",
  ["F32.2"] = "Major depressive disorder, single episode, severe without psychotic features",
  ["F32.3"] = "Major depressive disorder, single episode, severe with psychotic features",
  ["F32.4"] = "Major depressive disorder, single episode, in partial remission",
  ["F32.5"] = "Major depressive disorder, single episode, in full remission",
  ["F32.81"] = "Premenstrual dysphoric disorder",
  ["F32.89"] = "Other specified depressive episodes",
  ["F32.9"] = "Major depressive disorder, single episode, unspecified",
  ["F32.A"] = "Depression, unspecified",
  ["F33.0"] = "Major depressive disorder, recurrent, mild",
  ["F33.1"] = "Major depressive disorder, recurrent, moderate",
  ["F33.2"] = "Major depressive disorder, recurrent severe without psychotic features",
  ["F33.3"] = "Major depressive disorder, recurrent, severe with psychotic symptoms",
  ["F33.40"] = "Major depressive disorder, recurrent, in remission, unspecified",
  ["F33.41"] = "Major depressive disorder, recurrent, in partial remission",
  ["F33.42"] = "Major depressive disorder, recurrent, in full remission",
  ["F33.9"] = "Major depressive disorder, recurrent, unspecified",
  ["F34.0"] = "Cyclothymic disorder",
  ["F34.1"] = "Dysthymic disorder",
  ["F34.81"] = "Disruptive mood dysregulation disorder",
  ["F39"] = "Unspecified mood [affective] disorder",
  ["F40.00"] = "Agoraphobia, unspecified",
  ["F40.01"] = "Agoraphobia with panic disorder",
  ["F40.10"] = "Social phobia, unspecified",
  ["F40.11"] = "Social phobia, generalized",
  ["F40.218"] = "Other animal type phobia",
  ["F40.228"] = "Other natural environment type phobia",
  ["F40.230"] = "Fear of blood",
  ["F40.240"] = "Claustrophobia",
  ["F40.241"] = "Acrophobia",
  ["F40.243"] = "Fear of flying",
  ["F40.8"] = "Other phobic anxiety disorders",
  ["F40.9"] = "Phobic anxiety disorder, unspecified",
  ["F41.0"] = "Panic disorder [episodic paroxysmal anxiety]",
  ["F41.1"] = "Generalized anxiety disorder",
  ["F41.3"] = "Other mixed anxiety disorders",
  ["F41.8"] = "Other specified anxiety disorders",
  ["F41.9"] = "Anxiety disorder, unspecified",
  ["F42.2"] = "Mixed obsessional thoughts and acts",
  ["F42.3"] = "Hoarding disorder",
  ["F42.4"] = "Excoriation (skin-picking) disorder",
  ["F42.8"] = "Other obsessive-compulsive disorder",
  ["F42.9"] = "Obsessive-compulsive disorder, unspecified",
  ["F43.0"] = "Acute stress reaction",
  ["F43.10"] = "Post-traumatic stress disorder, unspecified",
  ["F43.11"] = "Post-traumatic stress disorder, acute",
  ["F43.12"] = "Post-traumatic stress disorder, chronic",
  ["F43.20"] = "Adjustment disorder, unspecified",
  ["F43.21"] = "Adjustment disorder with depressed mood",
  ["F43.22"] = "Adjustment disorder with anxiety",
  ["F43.23"] = "Adjustment disorder with mixed anxiety and depressed mood",
  ["F43.24"] = "Adjustment disorder with disturbance of conduct",
  ["F43.25"] = "Adjustment disorder with mixed disturbance of emotions and conduct",
  ["F43.29"] = "Adjustment disorder with other symptoms",
  ["F43.81"] = "Prolonged grief disorder",
  ["F43.89"] = "Other reactions to severe stress",
  ["F43.9"] = "Reaction to severe stress, unspecified",
  ["F44.4"] = "Conversion disorder with motor symptom or deficit",
  ["F44.81"] = "Dissociative identity disorder",
  ["F44.9"] = "Dissociative and conversion disorder, unspecified",
  ["F45.1"] = "Undifferentiated somatoform disorder",
  ["F45.21"] = "Hypochondriasis",
  ["F45.22"] = "Body dysmorphic disorder",
  ["F45.9"] = "Somatoform disorder, unspecified",
  ["F48.1"] = "Depersonalization-derealization syndrome",
  ["F50.00"] = "Anorexia nervosa, unspecified",
  ["F50.01"] = "Anorexia nervosa, restricting type",
  ["F50.02"] = "Anorexia nervosa, binge eating/purging type",
  ["F50.2"] = "Bulimia nervosa",
  ["F50.81"] = "Binge eating disorder",
  ["F50.82"] = "Avoidant/restrictive food intake disorder",
  ["F50.9"] = "Eating disorder, unspecified",
  ["F51.01"] = "Primary insomnia",
  ["F51.05"] = "Insomnia due to other mental disorder",
  ["F51.5"] = "Nightmare disorder",
  ["F52.0"] = "Hypoactive sexual desire disorder",
  ["F60.0"] = "Paranoid personality disorder",
  ["F60.1"] = "Schizoid personality disorder",
  ["F60.2"] = "Antisocial personality disorder",
  ["F60.3"] = "Borderline personality disorder",
  ["F60.4"] = "Histrionic personality disorder",
  ["F60.5"] = "Obsessive-compulsive personality disorder",
  ["F60.6"] = "Avoidant personality disorder",
  ["F60.7"] = "Dependent personality disorder",
  ["F60.81"] = "Narcissistic personality disorder",
  ["F60.9"] = "Personality disorder, unspecified",
  ["F63.0"] = "Pathological gambling",
  ["F63.2"] = "Kleptomania",
  ["F63.3"] = "Trichotillomania",
  ["F63.81"] = "Intermittent explosive disorder",
  ["F64.0"] = "Transsexualism",
  ["F64.2"] = "Gender identity disorder of childhood",
  ["F65.4"] = "Pedophilia",
  ["F68.10"] = "Factitious disorder imposed on self, unspecified",
  ["F70"] = "Mild intellectual disabilities",
  ["F71"] = "Moderate intellectual disabilities",
  ["F79"] = "Unspecified intellectual disabilities",
  ["F80.0"] = "Phonological disorder",
  ["F80.81"] = "Childhood onset fluency disorder",
  ["F81.0"] = "Specific reading disorder",
  ["F81.2"] = "Mathematics disorder",
  ["F81.9"] = "Developmental disorder of scholastic skills, unspecified",
  ["F84.0"] = "Autistic disorder",
  ["F84.9"] = "Pervasive developmental disorder, unspecified",
  ["F88"] = "Other disorders of psychological development",
  ["F89"] = "Unspecified disorder of psychological development",
  ["F90.0"] = "Attention-deficit hyperactivity disorder, predominantly inattentive type",
  ["F90.1"] = "Attention-deficit hyperactivity disorder, predominantly hyperactive type",
  ["F90.2"] = "Attention-deficit hyperactivity disorder, combined type",
  ["F90.8"] = "Attention-deficit hyperactivity disorder, other type",
  ["F90.9"] = "Attention-deficit hyperactivity disorder, unspecified type",
  ["F91.1"] = "Conduct disorder, childhood-onset type",
  ["F91.2"] = "Conduct disorder, adolescent-onset type",
  ["F91.3"] = "Oppositional defiant disorder",
  ["F91.9"] = "Conduct disorder, unspecified",
  ["F93.0"] = "Separation anxiety disorder of childhood",
  ["F94.0"] = "Selective mutism",
  ["F94.1"] = "Reactive attachment disorder of childhood",
  ["F94.2"] = "Disinhibited attachment disorder of childhood",
  ["F95.2"] = "Tourette's disorder",
  ["F98.0"] = "Enuresis not due to a substance or known physiological condition",
  ["F99"] = "Mental disorder, not otherwise specified",
  ["Z03.89"] = "Encounter for observation for other suspected diseases and conditions ruled out",
  ["Z13.31"] = "Encounter for screening for depression",
  ["Z56.0"] = "Unemployment, unspecified",
  ["Z56.9"] = "Unspecified problems related to employment",
  ["Z59.00"] = "Homelessness unspecified",
  ["Z60.0"] = "Problems of adjustment to life-cycle transitions",
  ["Z60.2"] = "Problems related to living alone",
  ["Z62.820"] = "Parent-biological child conflict",
  ["Z62.898"] = "Other specified problems related to upbringing",
  ["Z63.0"] = "Problems in relationship with spouse or partner",
  ["Z63.4"] = "Disappearance and death of family member",
  ["Z63.5"] = "Disruption of family by separation and divorce",
  ["Z63.8"] = "Other specified problems related to primary support group",
  ["Z65.8"] = "Other specified problems related to psychosocial circumstances",
  ["Z69.010"] = "Encounter for mental health services for victim of parental child abuse",
  ["Z69.11"] = "Encounter for mental health services for victim of spousal or partner abuse",
  ["Z71.89"] = "Other specified counseling",
  ["Z72.0"] = "Tobacco use",
  ["Z73.3"] = "Stress, not elsewhere classified",
  ["Z91.49"] = "Other personal history of psychological trauma",
  ["Z91.51"] = "Personal history of suicidal behavior",
  ["Z91.52"] = "Personal history of nonsuicidal self-harm",
}

-- Whether `code` is written as an ICD-10-CM code: a letter, two
-- characters, and optionally a point and one to four more (F41.1, F32.A,
-- Z63.0, F17.210).
function M.well_formed(code)
  return type(code) == "string"
    and (code:match("^%u%d[%dA-Z]$") ~= nil or code:match("^%u%d[%dA-Z]%.[%dA-Z][%dA-Z]?[%dA-Z]?[%dA-Z]?$") ~= nil)
end

-- The title of a code from the list (a clinic's additions included), or nil.
function M.title(code)
  return M.TITLES[code]
end

-- Adds a clinic's own codes: { ["CODE"] = "Title", ... }.
function M.add(codes)
  for code, title in pairs(codes) do
    if not M.well_formed(code) or type(title) ~= "string" then
      error("icd10.add: '" .. tostring(code) .. "' must be an ICD-10-CM code (such as F41.1) with a title", 2)
    end
    M.TITLES[code] = title
  end
end

rapport.test("ICD-10-CM codes: form and titles", function(t)
  for _, code in ipairs({ "F41.1", "F32.A", "Z63.0", "F17.210", "F21" }) do
    t.ok(M.well_formed(code), code)
  end
  for _, code in ipairs({ "f41.1", "F4", "F41.", "F41.12345", "41.1", "F41-1", "" }) do
    t.ok(not M.well_formed(code), code)
  end
  t.eq(M.title("F41.1"), "Generalized anxiety disorder")
  t.eq(M.title("F99.9"), nil)
  for code, title in pairs(M.TITLES) do
    t.ok(M.well_formed(code) and code:match("^[FZ]") and title ~= "", code)
  end
  t.fails(function()
    M.add { ["not a code"] = "x" }
  end, "must be an ICD-10-CM code")
end)

return M
