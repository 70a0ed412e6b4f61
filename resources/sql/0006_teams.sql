-- Placeholder: filled in by the teams work (keeps migration numbers in sequence meanwhile).
SELECT 1;
