DELETE FROM mission_latest WHERE mission = ?
