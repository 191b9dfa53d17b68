//! Replica logs from CloudWatch on the emulator: one stream per task, labelled by task id.

use aws_sdk_cloudwatchlogs::types::InputLogEvent;
use scaling_core::providers::{epoch_millis, LogQuery, Logs, OwnSteps, Owner};

use crate::support::{moto_url, provider, sdk};

#[tokio::test]
async fn task_logs_are_interleaved_by_time_labelled_by_task_filtered_and_followed() {
    let Some(url) = moto_url() else { return };
    let (aws, _, _, account) = provider(&url).await;
    let owner = Owner::new("dashmath");
    let none = aws.read_logs(&owner, "dashmath-service", &LogQuery::default()).await.unwrap();
    assert!(none.lines.is_empty(), "no log group yet: no lines, no error");

    aws.ensure_resources(scaling_aws::SUPPORT_RESOURCES, &owner, &owner.tags(&Default::default())).await.unwrap();
    let sdk = sdk(&url, &account).await;
    let now = epoch_millis(std::time::SystemTime::now()) as i64;
    let write = |task: &'static str, at: i64, message: &'static str| {
        let logs = sdk.logs.clone();
        async move {
            let stream = format!("dashmath/dashmath-container/{task}");
            let _ = logs.create_log_stream().log_group_name("/ecs/dashmath").log_stream_name(&stream).send().await;
            let event = InputLogEvent::builder().timestamp(at).message(message).build().unwrap();
            logs.put_log_events()
                .log_group_name("/ecs/dashmath")
                .log_stream_name(&stream)
                .log_events(event)
                .send()
                .await
                .unwrap();
        }
    };
    write("aaaa1111", now - 3000, "booting on aaaa").await;
    write("bbbb2222", now - 2000, "booting on bbbb").await;
    write("aaaa1111", now - 1000, "listening on aaaa").await;

    let page = aws.read_logs(&owner, "dashmath-service", &LogQuery::default()).await.unwrap();
    let seen: Vec<_> = page.lines.iter().map(|l| (l.replica.as_str(), l.text.as_str())).collect();
    assert_eq!(
        seen,
        [("aaaa1111", "booting on aaaa"), ("bbbb2222", "booting on bbbb"), ("aaaa1111", "listening on aaaa")]
    );
    let one = LogQuery { replica: Some("bbbb".into()), ..Default::default() };
    let only = aws.read_logs(&owner, "dashmath-service", &one).await.unwrap();
    assert_eq!(only.lines.iter().map(|l| l.text.as_str()).collect::<Vec<_>>(), ["booting on bbbb"]);
    let newest = aws.read_logs(&owner, "dashmath-service", &LogQuery { limit: 1, ..Default::default() }).await.unwrap();
    assert_eq!(newest.lines.iter().map(|l| l.text.as_str()).collect::<Vec<_>>(), ["listening on aaaa"]);

    let follow = LogQuery { after: page.cursor.clone(), ..Default::default() };
    assert!(aws.read_logs(&owner, "dashmath-service", &follow).await.unwrap().lines.is_empty(), "nothing new");
    write("bbbb2222", now, "request served by bbbb").await;
    let new = aws.read_logs(&owner, "dashmath-service", &follow).await.unwrap();
    assert_eq!(new.lines.iter().map(|l| l.text.as_str()).collect::<Vec<_>>(), ["request served by bbbb"]);
}
