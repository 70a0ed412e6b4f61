-- Placeholder: filled in by the instagram work (keeps migration numbers in sequence meanwhile).
SELECT 1;
