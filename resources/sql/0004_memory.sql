-- Placeholder: filled in by the memory work (keeps migration numbers in sequence meanwhile).
SELECT 1;
