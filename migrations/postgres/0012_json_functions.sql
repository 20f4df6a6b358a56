-- The JSON functions the stores use (issue 14), as SQLite has them built in.
--
-- json_patch(target, patch): RFC 7396 JSON Merge Patch on JSON text, as
-- SQLite's json_patch (PATCH /v1/me and the admin PATCH of a user merge
-- metadata documents with it; db/users_store merge_metadata): when the patch
-- is an object, each of its members is merged into the target (an object;
-- anything else counts as {}) recursively, and a member whose value is null
-- removes that key; any other patch replaces the target whole.
--
-- The result is written back as compact text (no space after ':' or ','),
-- as SQLite writes it, so the 8 KiB bound on a stored document
-- (metadata_fits) measures the same bytes on both engines; key order is
-- jsonb's (shorter keys first), which no reader depends on.
CREATE FUNCTION pa_merge_patch(target jsonb, patch jsonb) RETURNS jsonb
LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
  merged jsonb;
  k text;
  v jsonb;
BEGIN
  IF patch IS NULL OR jsonb_typeof(patch) <> 'object' THEN
    RETURN patch;
  END IF;
  IF target IS NULL OR jsonb_typeof(target) <> 'object' THEN
    merged := '{}'::jsonb;
  ELSE
    merged := target;
  END IF;
  FOR k, v IN SELECT key, value FROM jsonb_each(patch) LOOP
    IF jsonb_typeof(v) = 'null' THEN
      merged := merged - k;
    ELSE
      merged := merged || jsonb_build_object(k, pa_merge_patch(merged -> k, v));
    END IF;
  END LOOP;
  RETURN merged;
END
$$;

-- jsonb's text without the blanks it puts after ':' and ',' (blanks inside
-- strings stay: a string ends at an unescaped '"').
CREATE FUNCTION pa_json_compact(doc text) RETURNS text
LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
  parts text[] := '{}';
  c text;
  in_string boolean := false;
  escaped boolean := false;
BEGIN
  IF doc IS NULL THEN
    RETURN NULL;
  END IF;
  FOREACH c IN ARRAY string_to_array(doc, NULL) LOOP
    IF in_string THEN
      IF escaped THEN
        escaped := false;
      ELSIF c = '\' THEN
        escaped := true;
      ELSIF c = '"' THEN
        in_string := false;
      END IF;
      parts := parts || c;
    ELSIF c = '"' THEN
      in_string := true;
      parts := parts || c;
    ELSIF c <> ' ' THEN
      parts := parts || c;
    END IF;
  END LOOP;
  RETURN array_to_string(parts, '');
END
$$;

CREATE FUNCTION json_patch(target text, patch text) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
  SELECT pa_json_compact(pa_merge_patch(target::jsonb, patch::jsonb)::text)
$$;

-- The JSON document in `doc`, or NULL when it is not JSON (SQLite's
-- json_valid guard): the data export reads webhook payloads with it, and one
-- unreadable payload must not fail the whole export.
CREATE FUNCTION pa_try_jsonb(doc text) RETURNS jsonb
LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
  RETURN doc::jsonb;
EXCEPTION WHEN invalid_text_representation THEN
  RETURN NULL;
END
$$;
