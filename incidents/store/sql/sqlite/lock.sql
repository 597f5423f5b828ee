-- The file's data_version: another connection's commit moves it, this one's does not.
PRAGMA data_version
