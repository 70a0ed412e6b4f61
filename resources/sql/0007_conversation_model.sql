-- Schema 7: a conversation's own model choice, made in the Chat page's model box, so it survives
-- a restart. NULL: the conversation runs on its character's model (the character's own provider,
-- else the workspace default). Otherwise JSON: the string "workspace-default", or a model choice
-- object ({"provider", "model", "endpoint", "temperature"}). See core/settings.py.
ALTER TABLE conversations ADD COLUMN model_choice TEXT;
